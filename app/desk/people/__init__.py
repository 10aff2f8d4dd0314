"""The people page: an admin adds, re-roles, disables and resets the passwords of the tenant's
people, through the same service the ``users`` commands call."""
