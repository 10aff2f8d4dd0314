"""The queue: what needs someone now, then the saved views and filters of the tracker."""
