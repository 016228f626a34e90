"""Booking use cases: book, find a slot, change, approve; calendar export; bookings meet
reality."""
