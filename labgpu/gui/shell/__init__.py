"""The window around the features: start-up, main window, worker threads, errors, settings,
session, reminders."""
