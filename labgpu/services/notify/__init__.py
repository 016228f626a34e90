"""Notifications: the lab's channels, the sender, the collector's time-based events."""
