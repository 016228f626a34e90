"""Notifications as plain values: events, members' settings, back-off, message texts."""
