"""WellQueue: background jobs on Dramatiq + Redis with a Textual operator console."""

__version__ = "0.1.0"
