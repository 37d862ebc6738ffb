"""The console's Textual stylesheets; installed as `wellqueue_tui.styles` (see setup.py), read with importlib.resources."""
