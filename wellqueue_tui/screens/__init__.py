"""The console's screens: one Screen per file, talking to the app only through `screens.context.ConsoleContext`."""
