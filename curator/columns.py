"""One column specification per stored or written shape.

A row shape is a frozen dataclass whose fields are its columns, in order, with their types.
From that one definition come the SQL column declarations (checked against the migrated
schema by a test), the named INSERT, the reader of a SQLite row, the CSV header and the
CSV reader and writer — so adding a field is one edit (plus a migration for the store).

Types a column may have: `str` (and `NewType`s of it), `int`, `float`, `bool`, a `StrEnum`
(`Status`, `RunStatus` …), `Pins`, `tuple[str, ...]` (stored as a JSON list), and any of those
`| None`.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import sqlite3
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from curator.pins import Pins

Scalar = str | int | float | None
R = TypeVar("R")


@dataclass(frozen=True)
class Codec:
    """How one Python type is written to and read from SQLite and CSV."""

    sql_type: str
    to_sql: Callable[[Any], Scalar]
    from_sql: Callable[[Any], Any]
    to_text: Callable[[Any], str]
    from_text: Callable[[str], Any]


def _float_text(value: float) -> str:
    return repr(round(value, 3))


def _json_list(text: str) -> tuple[str, ...]:
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list, not {text[:40]!r}")
    return tuple(str(v) for v in value)


def _to_json_list(value: Any) -> str:
    return json.dumps(list(value))


_CODECS: dict[object, Codec] = {
    str: Codec("TEXT", str, str, str, str),
    int: Codec("INTEGER", int, int, str, int),
    float: Codec("REAL", float, float, _float_text, float),
    bool: Codec("INTEGER", int, bool, str, lambda text: text == "True"),
    Pins: Codec("TEXT", str, lambda value: Pins.parse(str(value)), str, Pins.parse),
    tuple: Codec("TEXT", _to_json_list, _json_list, _to_json_list, _json_list),
}


def _codec(kind: object) -> Codec:
    if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        return Codec("TEXT", str, kind, str, kind)
    if typing.get_origin(kind) is tuple:
        kind = tuple
    if kind not in _CODECS:
        raise TypeError(f"no codec for column type {kind}")
    return _CODECS[kind]


@dataclass(frozen=True)
class Column:
    """One column: its name, whether it may be empty (NULL), and its codec."""

    name: str
    codec: Codec
    nullable: bool

    @property
    def declaration(self) -> str:
        """`name TYPE NOT NULL`, as the schema should declare it."""
        return f"{self.name} {self.codec.sql_type}{'' if self.nullable else ' NOT NULL'}"


def _base(kind: object) -> tuple[object, bool]:
    """The type behind an annotation (NewTypes and `| None` taken off), and whether it admits None."""
    nullable = False
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        members = [m for m in typing.get_args(kind) if m is not type(None)]
        nullable = len(members) < len(typing.get_args(kind))
        if len(members) != 1:
            raise TypeError(f"a column cannot hold {kind}")
        kind = members[0]
    while hasattr(kind, "__supertype__"):  # a NewType
        kind = kind.__supertype__
    return kind, nullable


_COLUMNS: dict[type, tuple[Column, ...]] = {}


def columns(shape: type) -> tuple[Column, ...]:
    """The columns of a row dataclass, in field order."""
    if shape not in _COLUMNS:
        hints = typing.get_type_hints(shape)
        found = []
        for field in dataclasses.fields(shape):
            kind, nullable = _base(hints[field.name])
            found.append(Column(field.name, _codec(kind), nullable))
        _COLUMNS[shape] = tuple(found)
    return _COLUMNS[shape]


def names(shape: type) -> list[str]:
    """The column names of a row dataclass (the CSV header)."""
    return [c.name for c in columns(shape)]


def insert_sql(table: str, shape: type, *, verb: str = "INSERT") -> str:
    """`INSERT INTO table (a, b) VALUES (:a, :b)` for a row dataclass."""
    cols = names(shape)
    return f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"


def to_sql(row: object) -> dict[str, Scalar]:
    """A row's values as SQLite parameters, by column name."""
    out: dict[str, Scalar] = {}
    for column in columns(type(row)):
        value = getattr(row, column.name)
        out[column.name] = None if value is None else column.codec.to_sql(value)
    return out


def from_sql(shape: type[R], row: Mapping[str, Any] | sqlite3.Row) -> R:
    """A row dataclass from a SQLite row (`sqlite3.Row`) holding its columns."""
    values = {}
    for column in columns(shape):
        value = row[column.name]
        values[column.name] = None if value is None else column.codec.from_sql(value)
    return shape(**values)


def to_text(row: object) -> list[str]:
    """A row's values as CSV fields (None is the empty field)."""
    return ["" if (value := getattr(row, c.name)) is None else c.codec.to_text(value) for c in columns(type(row))]


def from_text(shape: type[R], record: Mapping[str, str]) -> R:
    """A row dataclass from a CSV record (`csv.DictReader`); an empty nullable field is None, and a
    column the file lacks takes the field's default (a file written before that column existed)."""
    values = {}
    for column in columns(shape):
        if column.name not in record and column.name in _defaults(shape):
            continue
        text = record[column.name]
        values[column.name] = None if column.nullable and text == "" else column.codec.from_text(text)
    return shape(**values)


def write_csv(shape: type, rows: Iterable[object]) -> str:
    """A CSV document: the header of `shape`, then each row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names(shape))
    writer.writerows(to_text(row) for row in rows)
    return buffer.getvalue()


def read_csv(shape: type[R], text: str) -> list[R]:
    """The rows of a CSV document written by `write_csv`; a `ValueError` names a missing column
    or the first value that does not read back."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [n for n in names(shape) if n not in (reader.fieldnames or ()) and n not in _defaults(shape)]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    rows = []
    for number, record in enumerate(reader, 2):
        try:
            rows.append(from_text(shape, record))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return rows


def _defaults(shape: type) -> set[str]:
    """The fields of a row dataclass that have a default."""
    return {
        f.name
        for f in dataclasses.fields(shape)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }


def schema_problems(declared: Sequence[tuple[str, str, bool]], shape: type) -> list[str]:
    """Differences between a table's declared columns (name, type, not null) and a row shape."""
    have = {name: (kind.upper(), notnull) for name, kind, notnull in declared}
    problems = []
    for column in columns(shape):
        if column.name not in have:
            problems.append(f"{column.name}: missing")
        elif have[column.name] != (column.codec.sql_type, not column.nullable):
            problems.append(f"{column.name}: declared {have[column.name]}, spec says {column.declaration}")
    problems += [f"{name}: not in the spec" for name in have if name not in names(shape)]
    return problems
