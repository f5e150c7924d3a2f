"""Executors run cells: `local` (threads driving one process group per cell) and, later, `dask`."""
