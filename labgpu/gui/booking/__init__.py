"""Booking in the window: the calendar, the booking and slot dialogs, My bookings, approvals,
rules."""
