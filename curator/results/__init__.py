"""A run's results: cells.csv rows and the summary, the release gate, compatibility matrices."""
