"""One incident on the desk: its tracker row, merged timeline, forms, evidence and process."""
