"""What the example packs share: provider configuration, HTTP calls, e-mail, SQLite, files and tables."""
