"""Nightly compatibility runs: the newest upstream releases against the blessed set (docs/nightly.md).

`plan` draws the night's cells, `bisect` names culprits, `classify` sorts every result into a
category, `history` reads earlier nights from the store, `runner` drives it all through the run
coordinator; `model` is the document every part shares (nightly.json).
"""
