"""Markdown read the way GitHub reads it, for tests that check what a person would see.

markdown-it-py with CommonMark and GitHub's tables and strikethrough: the tokens say which raw HTML
would reach the page, which links and images it would show, and what text each table cell holds.
"""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from token.children or ()


def raw_html(markdown: str) -> list[str]:
    """Every piece of raw HTML the page would carry, as written."""
    return [t.content for t in _inline(_PARSER.parse(markdown)) if t.type in ("html_inline", "html_block")]


def kinds(markdown: str) -> set[str]:
    """The kinds of element the page shows (`link_open`, `image`, `em_open`, `s_open`, `code_inline` …)."""
    return {t.type for t in _inline(_PARSER.parse(markdown))}


def shown(tokens: list[Token] | None) -> str:
    """The text a reader sees in an inline run: text and code as written, markup left out."""
    parts = []
    for token in tokens or ():
        if token.type in ("text", "code_inline", "html_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif token.type == "image":
            parts.append(shown(token.children))
    return "".join(parts)


def tables(markdown: str) -> list[list[list[str]]]:
    """Each table of the page: its rows (the header first), each the text its cells show."""
    found: list[list[list[str]]] = []
    row: list[str] = []
    in_cell = False
    for token in _PARSER.parse(markdown):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            in_cell = True
            row.append("")
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row[-1] = shown(token.children)
        elif token.type == "tr_close":
            found[-1].append(row)
    return found


def code_spans(markdown: str) -> list[str]:
    """The content of every code span, as shown."""
    return [t.content for t in _inline(_PARSER.parse(markdown)) if t.type == "code_inline"]


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """Every fenced code block: (info string, content as shown)."""
    return [(t.info, t.content) for t in _PARSER.parse(markdown) if t.type == "fence"]


def texts(markdown: str) -> list[str]:
    """The text each paragraph, heading, list item or table cell shows."""
    return [shown(t.children) for t in _PARSER.parse(markdown) if t.type == "inline"]
