"""Background jobs: poll carriers, detect stuck parcels, flag overdue next steps."""
