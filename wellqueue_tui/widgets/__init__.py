"""Reusable console widgets: they render plain data objects and never reach for Redis."""
