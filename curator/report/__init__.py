"""The report stage: a run's HTML report and the index of runs, rendered from the store.

`html` renders (Jinja2 templates in `templates/`), `charts` draws (matplotlib), `analysis` and
`blockers` decide what the report says (pure functions over stored outcomes).
"""
