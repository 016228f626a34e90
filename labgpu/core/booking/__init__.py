"""Bookings as values: windows and statuses, the lab's rules, the earliest-slot search, checks."""
