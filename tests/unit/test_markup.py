"""What suites print shows in Markdown as written: checked with a real CommonMark/GFM parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from curator.model.markup import code, fence, one_line, text
from tests.rendered import code_blocks, kinds, raw_html, tables

HOSTILE = (
    "AssertionError: <script>alert(1)</script><img src=x onerror=alert(1)> | a\nb `tick` ``two`` **bold** "
    "_em_ ~~gone~~ [link](https://evil.example/) ![pixel](https://evil.example/p.png) $x^2$ &amp; \\| <!-- c"
)
# Markdown's and HTML's special characters, far more often than any text would hold them
MARKDOWNISH = st.one_of(st.text(), st.text(alphabet=st.sampled_from(list("<>&;#|`*_[]()!~$\\-+=.: \n\r\taxh1/"))))
MARKUP = {"link_open", "image", "em_open", "strong_open", "s_open", "html_inline", "html_block"}


def _shown(value: str) -> str:
    """What a reader should see: the value on one line (CommonMark shows NUL as U+FFFD)."""
    return one_line(value).replace("\0", "\ufffd")


def _cell(markdown_cell: str) -> list[list[str]]:
    return tables(f"| a | b |\n|---|---|\n| {markdown_cell} | after |\n")[0]


def test_hostile_text_is_text_in_a_table_cell() -> None:
    rows = _cell(text(HOSTILE))
    assert rows[1] == [_shown(HOSTILE), "after"]  # every character shown, and the row still has two cells
    assert not kinds(f"| a |\n|---|\n| {text(HOSTILE)} |\n") & MARKUP
    assert raw_html(f"x {text(HOSTILE)}") == []


def test_hostile_text_is_one_code_span() -> None:
    rows = _cell(code(HOSTILE, table=True))
    assert rows[1] == [_shown(HOSTILE), "after"]
    spans = kinds(f"x {code(HOSTILE)} y")
    assert "code_inline" in spans and not spans & MARKUP


def test_a_fence_is_never_closed_by_what_it_holds() -> None:
    log = "line 1\n```\n<script>x</script>\n````\n  ```` \nend"
    blocks = code_blocks("\n".join([*fence(log), "after **bold**"]))
    assert blocks == [("text", log + "\n")]


def test_empty_and_space_only_values() -> None:
    assert code("") == "" and text("") == ""
    assert _cell(code("   ", table=True))[1][0] == "   "
    assert _cell(code(" x ", table=True))[1][0] == " x "
    assert _cell(code("`", table=True))[1][0] == "`"


@given(MARKDOWNISH)
def test_any_text_shows_as_written_in_a_table_cell(value: str) -> None:
    rows = _cell(text(value))
    assert len(rows[1]) == 2 and rows[1][1] == "after"
    assert rows[1][0].strip() == _shown(value).strip()  # a cell's surrounding blanks are not shown
    assert not kinds(f"- x {text(value)} y") & MARKUP  # in a list item's sentence too


@given(MARKDOWNISH.filter(bool))
def test_any_text_shows_as_written_in_a_code_span(value: str) -> None:
    rows = _cell(code(value, table=True))
    assert len(rows[1]) == 2 and rows[1][1] == "after"
    assert rows[1][0] == _shown(value)
    assert not kinds(f"- x {code(value)} y") & MARKUP
