"""People: the tenant's users, their roles, passwords, sign-in and the desk's session tokens.

Above ``api`` and below every feature, so any feature may ask who someone is and what their
role allows; this package knows nothing of incidents or parcels.
"""
