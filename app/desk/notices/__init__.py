"""The desk's "Notify customers": bulk notices previewed, confirmed and followed."""
