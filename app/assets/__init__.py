"""Files the service ships: fonts for the evidence-pack PDF (with their licences)."""
