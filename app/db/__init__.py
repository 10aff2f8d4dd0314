"""Persistence plumbing: engine, sessions, migrations, portable column types."""
