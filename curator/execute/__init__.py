"""Execution: one cell end to end, its environment, the runner files, executors, the coordinator."""
