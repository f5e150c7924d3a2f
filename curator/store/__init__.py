"""The results store: SQLite tables, the store as a file, recovery."""
