"""Members in the window: signing in to a lab database, the Members page."""
