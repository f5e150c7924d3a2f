"""Planning: strategies, cells and their keys, the covering array."""
