"""What every desk page shares: the signed-in person, CSRF, security headers, rendering."""
