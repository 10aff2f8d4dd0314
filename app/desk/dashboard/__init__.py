"""The dashboard: the reporting summary as bar charts a team lead reads at a glance."""
