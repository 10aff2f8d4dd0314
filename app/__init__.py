"""Resolution Tracker: one chronological record per delayed, lost or disputed parcel."""
