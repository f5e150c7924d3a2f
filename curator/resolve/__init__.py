"""Resolution: interpreters, uv's locks, core metadata, upstream releases, the dependency graph."""
