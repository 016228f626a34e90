"""Servers and GPUs in the window: the Live view, the Servers page, *Add server*."""
