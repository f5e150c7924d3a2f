"""What suites print, put into Markdown as data: shown as written, never read as markup.

A failure signature, a resolver's reason or the end of a log can hold anything a test printed —
`<script>`, `|`, backticks, `**`, a line break. Every Markdown curator writes (a run's step summary,
a nightly's notices, the pull-request text of `propose`) puts such text through one of these, for
CommonMark with GitHub's extensions (tables, strikethrough, math):

- `text` for words inside a sentence or a table cell;
- `code` for a code span (a signature, a command, a name), in a table cell with `table=True`;
- `fence` for a fenced block (the end of a log).

No library writes Markdown safely (markdown-it-py, which the tests render with, reads it only), and
the rules are short: CommonMark's backslash escapes, HTML's character references, and a code span's
or fence's delimiter longer than any run of backticks inside it.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Inline markup: emphasis, code, links and images, strikethrough, math, a table's pipe, an escape; an
# underscore between two letters or digits cannot emphasise (`cfx_base` stays as it is).
_PUNCTUATION = re.compile(r"[\\`*\[\]~$|]|(?<![^\W_])_|_(?![^\W_])")
_BACKTICKS = re.compile(r"`+")


def one_line(value: object) -> str:
    """`value` as text on one line: each line break a space (a break would end a table row, or a
    paragraph and everything the rest would then be read as)."""
    return _LINE_BREAK.sub(" ", str(value))


def text(value: object) -> str:
    """`value` as inline text: HTML as `&lt;…&gt;`, Markdown's punctuation backslash-escaped, on one
    line. Safe anywhere inline, a table cell included; not at the start of a line (where `#`, `-`,
    `>` or `1.` would begin a block)."""
    escaped = _PUNCTUATION.sub(lambda m: "\\" + m.group(), one_line(value))
    return "".join(_ENTITIES.get(c, c) for c in escaped)


def code(value: object, *, table: bool = False) -> str:
    """`value` as one code span, whatever backticks it holds, on one line; in a table cell (`table`),
    its pipes escaped too (GitHub removes the backslash before reading the span)."""
    content = one_line(value)
    if not content:
        return ""  # a pair of backticks with nothing between them is not a code span
    if table:
        content = content.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    marks = "`" * (longest + 1)
    if content.startswith("`") or content.endswith("`") or (content[0] == content[-1] == " " and content.strip(" ")):
        content = f" {content} "  # CommonMark takes one space off each side of such a span
    return f"{marks}{content}{marks}"


def fence(value: str, info: str = "text") -> list[str]:
    """`value` as a fenced code block, its lines exactly as they are: the fence is longer than any
    run of backticks inside, so no line of `value` can close it."""
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    marks = "`" * max(3, longest + 1)
    return [f"{marks}{info}", *_LINE_BREAK.split(value), marks]
