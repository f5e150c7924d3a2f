"""A channel: the distribution's own package index, static files that pip and uv read unchanged.

- `records`: the shapes a channel keeps — a log entry, `channel.json`, what a bundle's `release.json`
  says — written and read through `curator.model.codec`.
- `trust`: which maintainers' signatures a change needs (the set in force; a change of signers: the
  old set's and the new set's), counted before anything is written.
- `log`: `log.jsonl`, the append-only history: canonical lines, the hash chain, entry signatures,
  and the replay that turns it into what `channel.json` says.
- `releases`: a published release folder read back (its files, their metadata, what its bundle
  says), and seen as the bundle it was (for `release.verify`).
- `pages`: PEP 503 HTML and PEP 691 JSON pages (PEP 592, 658, 700, 714), pure functions of a list of files.
- `render`: every derived file of a channel — index pages, `constraints.txt`, `channel.json`,
  `index.html` — from the log and the release folders.
- `commit`: changes placed through a staging folder and a journal; an interrupted one is finished
  by the next command.
- `updates`: `curator publish`, `curator yank` and `curator signers`; `audit`: `curator verify DIR`.
"""
