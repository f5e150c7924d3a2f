"""The machine curator runs on: its folders and paths, files users hand in, locks, subprocesses."""
