"""Hostile-input and property-based tests (reliability.md §5: S1, S4, S5, R6 at unit level)."""
