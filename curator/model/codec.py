"""One codec for every shape curator keeps or sends: dataclasses ↔ JSON, SQL rows and CSV.

A shape is a frozen dataclass. Its fields, their types and (where a form differs from the field)
their metadata are the only description of how it is written and read: the wire format of a cell
sent to a worker, nightly.json, run.json, a stored plan, the store's tables, cells.csv and the
report's JSON all come from here. Adding a field to a shape is one declaration (plus a migration
for the store): every form that holds the shape holds the field.

Three forms:

- **JSON** (`to_json`, `from_json`): an object per dataclass, keyed by field name; nested
  dataclasses nest. Reading checks every type and names the path of a value that does not fit
  (`results[3].status: 'bogus' is not a Status`); a missing key takes the field's default.
- **SQL rows** (`to_sql`, `from_sql`, `insert_sql`, `schema_problems`): nested dataclasses are
  flattened into the columns of their fields; a nested field that bears the name of a column
  already there *is* that column (a cell's id, in the cell and in its outcome).
- **CSV** (`write_csv`, `read_csv`, `names`): flattened like SQL, in the order of the shape's
  `CSV_ORDER` (the columns a contract fixes) and then the order of declaration.

`spec(json=…, sql=…, csv=…)` in a field's metadata renames it in one form or, with `None`,
leaves it out of that form (it then needs a default). `JSON_COMPUTED` on a shape names properties
written into its JSON (never read back). Types a field may have: `str`, `int`, `float`, `bool`,
`bytes` (JSON only: the dask wire moves them as they are), `NewType`s of those, a `StrEnum`,
`Pins` (JSON: an object), `PinList` (JSON: a list of `name==version`), `Version`,
`SpecifierSet`, `Path`, `tuple[X, ...]`, `tuple[X, Y]`, `Mapping[K, V]`, `object` (JSON as it is),
a dataclass, and any of those `| None`. In a flat row, a value that is not a scalar (a tuple, a
mapping) is one column holding its JSON text.
"""

from __future__ import annotations

import collections.abc
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
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from curator.model.pins import PinList, Pins

Form = Literal["json", "sql", "csv"]
Scalar = str | int | float | bytes | None
R = TypeVar("R")

_SPEC = "curator.model.codec"


class CodecError(ValueError):
    """A document or row that does not have the shape it is read as; the message names where."""


@dataclass(frozen=True)
class Spec:
    """How one field appears in each form: its name there, or None when it is left out."""

    json: str | None
    sql: str | None
    csv: str | None
    inline: bool = False  # JSON: a dataclass field's keys written into its parent's object

    def name(self, form: Form) -> str | None:
        """The field's name in `form`."""
        return getattr(self, form)  # type: ignore[no-any-return]


_SAME = "\0same"


def spec(
    *, json: str | None = _SAME, sql: str | None = _SAME, csv: str | None = _SAME, inline: bool = False
) -> dict[str, object]:
    """Field metadata: `field(default="", metadata=spec(csv=None))` leaves a field out of CSV,
    `spec(csv="duration_s")` names its column there, `spec(inline=True)` writes a dataclass
    field's keys into its parent's JSON object."""
    return {_SPEC: Spec(json, sql, csv, inline)}


def _inline(field: dataclasses.Field[Any]) -> bool:
    found = field.metadata.get(_SPEC)
    return isinstance(found, Spec) and found.inline


def _spec_of(field: dataclasses.Field[Any], form: Form) -> str | None:
    found = field.metadata.get(_SPEC)
    name = found.name(form) if isinstance(found, Spec) else _SAME
    return field.name if name == _SAME else name


# ------------------------------------------------------------------------------------ types


def _unwrap(kind: object) -> tuple[object, bool]:
    """The type behind an annotation (NewTypes and `| None` taken off) and whether it admits None."""
    nullable = False
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        members = [m for m in typing.get_args(kind) if m is not type(None)]
        nullable = len(members) < len(typing.get_args(kind))
        kind = members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
    while hasattr(kind, "__supertype__"):  # a NewType
        kind = kind.__supertype__
    return kind, nullable


_HINTS: dict[type, dict[str, object]] = {}


def _hints(shape: type) -> dict[str, object]:
    if shape not in _HINTS:
        _HINTS[shape] = typing.get_type_hints(shape)
    return _HINTS[shape]


def fields(shape: type) -> tuple[tuple[dataclasses.Field[Any], object], ...]:
    """A dataclass's fields with their resolved types."""
    hints = _hints(shape)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(shape))


def _is_shape(kind: object) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def default(field: dataclasses.Field[Any]) -> Any:
    """A field's default value (a `TypeError` for a field with none)."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"{field.name} has no default")


def has_default(field: dataclasses.Field[Any]) -> bool:
    """Whether a field may be left out when its shape is built."""
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


# ------------------------------------------------------------------------------------ JSON


def to_json(value: object) -> Any:
    """A value as JSON data (dicts, lists, strings, numbers, booleans, None; bytes stay bytes)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PinList):
        return value.to_list()
    if isinstance(value, Pins):
        return value.to_json()
    if isinstance(value, Version | SpecifierSet | Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for field, _ in fields(type(value)):
            name = _spec_of(field, "json")
            if name is not None and _inline(field):
                out.update(to_json(getattr(value, field.name)))
            elif name is not None:
                out[name] = to_json(getattr(value, field.name))
        for name, attribute in getattr(type(value), "JSON_COMPUTED", {}).items():
            out[name] = to_json(getattr(value, attribute))
        return out
    if isinstance(value, Mapping):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        return [to_json(v) for v in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _key(key: object) -> str:
    encoded = to_json(key)
    if not isinstance(encoded, str):
        raise TypeError(f"a JSON key must be text, not {type(key).__name__}")
    return encoded


def from_json(kind: type[R], data: object, where: str = "") -> R:
    """A value of `kind` read from JSON data; a `CodecError` names the first part that does not fit."""
    return _decode(kind, data, where or getattr(kind, "__name__", "value"))  # type: ignore[no-any-return]


def _decode(kind: object, data: object, where: str) -> Any:
    base, nullable = _unwrap(kind)
    if data is None:
        if nullable or base in (object, Any):
            return None
        raise CodecError(f"{where}: missing (null)")
    if base in (object, Any):
        return data
    if typing.get_origin(base) is typing.Union:
        for member in typing.get_args(base):
            try:
                return _decode(member, data, where)
            except CodecError:
                continue
        raise CodecError(f"{where}: {_shown(data)} fits none of {base}")
    if _is_shape(base):
        return _decode_shape(typing.cast(type, base), data, where)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        try:
            return base(data)
        except ValueError:
            raise CodecError(f"{where}: {_shown(data)} is not a {base.__name__}") from None
    if base in _SCALARS:
        accepts, what, convert = _SCALARS[base]
        if not accepts(data):
            raise CodecError(f"{where}: {_shown(data)} is not {what}")
        try:
            return convert(data)
        except (ValueError, InvalidVersion, InvalidSpecifier) as exc:
            raise CodecError(f"{where}: {exc}") from None
    return _decode_collection(base, data, where)


def _decode_collection(base: object, data: object, where: str) -> Any:
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is tuple:
        if not isinstance(data, list | tuple):
            raise CodecError(f"{where}: {_shown(data)} is not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(data))
        if len(args) != len(data):
            raise CodecError(f"{where}: {len(data)} items where {len(args)} belong")
        return tuple(_decode(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, data, strict=True)))
    if origin is list:
        if not isinstance(data, list):
            raise CodecError(f"{where}: {_shown(data)} is not a list")
        return [_decode(args[0], item, f"{where}[{i}]") for i, item in enumerate(data)]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(data, Mapping):
            raise CodecError(f"{where}: {_shown(data)} is not an object")
        return {_decode(args[0], k, f"{where} key"): _decode(args[1], v, f"{where}.{k}") for k, v in data.items()}
    raise TypeError(f"{where}: no JSON form for {base}")


def _is_text(data: object) -> bool:
    return isinstance(data, str)


def _is_int(data: object) -> bool:
    return isinstance(data, int) and not isinstance(data, bool)


def _is_number(data: object) -> bool:
    return isinstance(data, int | float) and not isinstance(data, bool)


def _pins(data: object) -> Pins:
    return Pins.from_json(data)


_SCALARS: dict[object, tuple[Callable[[object], bool], str, Callable[[Any], object]]] = {
    str: (_is_text, "text", str),
    bool: (lambda data: isinstance(data, bool), "true or false", bool),
    int: (_is_int, "an integer", int),
    float: (_is_number, "a number", float),
    bytes: (lambda data: isinstance(data, bytes | bytearray), "bytes", bytes),
    Version: (_is_text, "a version", Version),
    SpecifierSet: (_is_text, "a version specifier", SpecifierSet),
    Path: (_is_text, "a path", Path),
    Pins: (lambda data: isinstance(data, Mapping), "a mapping of name to version", _pins),
    PinList: (lambda data: isinstance(data, list), "a list of 'name==version'", PinList.from_list),
}


def _decode_shape(shape: type, data: object, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise CodecError(f"{where}: {_shown(data)} is not an object")
    values = {}
    for field, kind in fields(shape):
        name = _spec_of(field, "json")
        if name is not None and _inline(field):
            values[field.name] = _decode(kind, data, where)
            continue
        if name is None or name not in data:
            if has_default(field):
                continue
            raise CodecError(f"{where}: no '{name or field.name}'")
        values[field.name] = _decode(kind, data[name], f"{where}.{name}")
    try:
        return shape(**values)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{where}: {exc}") from None


def _shown(data: object) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."


def dumps(value: object, **options: Any) -> str:
    """`json.dumps(to_json(value))`."""
    return json.dumps(to_json(value), **options)


def loads(kind: type[R], text: str | bytes, where: str = "") -> R:
    """`from_json(kind, json.loads(text))`; text that is not JSON is a `CodecError` too."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CodecError(f"{where or getattr(kind, '__name__', 'value')}: not JSON ({exc})") from None
    return from_json(kind, data, where)


# ------------------------------------------------------------------------------------ flat rows


@dataclass(frozen=True)
class Codec:
    """How one Python type is written to and read from a SQLite column and a CSV field."""

    sql_type: str
    to_sql: Callable[[Any], Scalar]
    from_sql: Callable[[Any], Any]
    to_text: Callable[[Any], str]
    from_text: Callable[[str], Any]


def _one_of(kinds: tuple[type[enum.StrEnum], ...], text: object) -> enum.StrEnum:
    """The member of the first of `kinds` that has `text` as a value."""
    for kind in kinds:
        try:
            return kind(str(text))
        except ValueError:
            continue
    raise ValueError(f"{text!r} is none of {', '.join(k.__name__ for k in kinds)}")


def _float_text(value: float) -> str:
    return repr(round(value, 3))


def _bool_text(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"{text!r} is not True or False")
    return text == "True"


_CODECS: dict[object, Codec] = {
    str: Codec("TEXT", str, str, str, str),
    int: Codec("INTEGER", int, int, str, int),
    float: Codec("REAL", float, float, _float_text, float),
    bool: Codec("INTEGER", int, bool, str, _bool_text),
    Pins: Codec("TEXT", str, lambda value: Pins.parse(str(value)), str, Pins.parse),
    Version: Codec("TEXT", str, Version, str, Version),
}


def _json_codec(kind: object) -> Codec:
    """A column holding a value's JSON text (a tuple, a mapping)."""

    def write(value: object) -> str:
        return json.dumps(to_json(value))

    def read(text: object) -> object:
        try:
            return from_json(typing.cast(type, kind), json.loads(str(text)))
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    return Codec("TEXT", write, read, write, read)


def _codec(kind: object) -> Codec:
    if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        return Codec("TEXT", str, kind, str, kind)
    members = typing.get_args(kind) if typing.get_origin(kind) is typing.Union else ()
    if members and all(isinstance(m, type) and issubclass(m, enum.StrEnum) for m in members):
        return Codec("TEXT", str, partial(_one_of, members), str, partial(_one_of, members))
    if kind in _CODECS:
        return _CODECS[kind]
    if typing.get_origin(kind) in (tuple, dict, collections.abc.Mapping):
        return _json_codec(kind)
    raise TypeError(f"no column type for {kind}")


@dataclass(frozen=True)
class Column:
    """One column of a flat row: its name, the fields leading to its value, whether it may be
    empty (NULL), and its codec."""

    name: str
    path: tuple[str, ...]
    codec: Codec
    nullable: bool
    kind: object  # the field's annotation

    @property
    def declaration(self) -> str:
        """`name TYPE NOT NULL`, as the schema should declare it."""
        return f"{self.name} {self.codec.sql_type}{'' if self.nullable else ' NOT NULL'}"


_COLUMNS: dict[tuple[type, Form], tuple[Column, ...]] = {}


def columns(shape: type, form: Form = "sql") -> tuple[Column, ...]:
    """The columns of a shape in a flat form (`sql` or `csv`), nested dataclasses flattened."""
    if (shape, form) not in _COLUMNS:
        _COLUMNS[shape, form] = _columns(shape, form)
    return _COLUMNS[shape, form]


def _columns(shape: type, form: Form) -> tuple[Column, ...]:
    found: dict[str, Column] = {}
    _flatten(shape, form, (), found)
    listed = list(found.values())
    if form == "csv":
        order = getattr(shape, "CSV_ORDER", ())
        unknown = [n for n in order if n not in found]
        if unknown:
            raise TypeError(f"{shape.__name__}.CSV_ORDER names no column {', '.join(unknown)}")
        listed = [found[n] for n in order] + [c for c in listed if c.name not in order]
    return tuple(listed)


def _flatten(shape: type, form: Form, path: tuple[str, ...], found: dict[str, Column]) -> None:
    for field, kind in fields(shape):
        name = _spec_of(field, form)
        if name is None:
            if not has_default(field):
                raise TypeError(f"{shape.__name__}.{field.name} is left out of {form} and needs a default")
            continue
        base, nullable = _unwrap(kind)
        if _is_shape(base):
            _flatten(typing.cast(type, base), form, (*path, field.name), found)
        elif name not in found:  # the same name further in is the same column
            found[name] = Column(name, (*path, field.name), _codec(base), nullable, kind)


def names(shape: type, form: Form = "csv") -> list[str]:
    """The column names of a shape in a flat form (for CSV: the header)."""
    return [c.name for c in columns(shape, form)]


def row_json(row: object) -> dict[str, Any]:
    """A flat row as one JSON object keyed by its CSV columns (a row of cells.csv as JSON)."""
    return {name: to_json(value) for name, value in flat(row).items()}


def row_from_json(shape: type[R], data: Mapping[str, Any], where: str = "row") -> R:
    """The inverse of `row_json`."""
    values = {
        c.name: _decode(c.kind, data[c.name], f"{where}.{c.name}") for c in columns(shape, "csv") if c.name in data
    }
    try:
        return _build(shape, "csv", values)  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{where}: {exc}") from None


def _get(row: object, path: tuple[str, ...]) -> object:
    for name in path:
        row = getattr(row, name)
    return row


def flat(row: object, form: Form = "csv") -> dict[str, object]:
    """A row's column values as Python values, by column name."""
    return {c.name: _get(row, c.path) for c in columns(type(row), form)}


def _build(shape: type, form: Form, values: Mapping[str, object]) -> Any:
    """A shape from its columns' values (`values` by column name); a column a value lacks takes
    the field's default."""
    by_path = {c.path: c.name for c in columns(shape, form)}
    return _assemble(shape, form, values, (), by_path)


def _assemble(
    shape: type, form: Form, values: Mapping[str, object], path: tuple[str, ...], by_path: Mapping[tuple[str, ...], str]
) -> Any:
    kwargs: dict[str, object] = {}
    for field, kind in fields(shape):
        name = _spec_of(field, form)
        here = (*path, field.name)
        if name is None:
            continue
        base, _ = _unwrap(kind)
        if _is_shape(base):
            kwargs[field.name] = _assemble(typing.cast(type, base), form, values, here, by_path)
            continue
        column = by_path.get(here, name)  # a shared column: found by its name
        if column in values:
            kwargs[field.name] = values[column]
        elif not has_default(field):
            raise ValueError(f"no column {column}")
    return shape(**kwargs)


def insert_sql(table: str, shape: type, *, verb: str = "INSERT") -> str:
    """`INSERT INTO table (a, b) VALUES (:a, :b)` for a row shape."""
    cols = names(shape, "sql")
    return f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"


def to_sql(row: object) -> dict[str, Scalar]:
    """A row's values as SQLite parameters, by column name."""
    out: dict[str, Scalar] = {}
    for column in columns(type(row), "sql"):
        value = _get(row, column.path)
        out[column.name] = None if value is None else column.codec.to_sql(value)
    return out


def from_sql(shape: type[R], row: Mapping[str, Any] | sqlite3.Row) -> R:
    """A row shape from a SQLite row (`sqlite3.Row`) holding its columns."""
    present = set(row.keys())
    values = {}
    for column in columns(shape, "sql"):
        if column.name in present:
            value = row[column.name]
            values[column.name] = None if value is None else column.codec.from_sql(value)
    return _build(shape, "sql", values)  # type: ignore[no-any-return]


def to_text(row: object) -> list[str]:
    """A row's values as CSV fields (None is the empty field)."""
    out = []
    for column in columns(type(row), "csv"):
        value = _get(row, column.path)
        out.append("" if value is None else column.codec.to_text(value))
    return out


def from_text(shape: type[R], record: Mapping[str, str]) -> R:
    """A row shape from a CSV record (`csv.DictReader`); an empty nullable field is None, and a
    column the file lacks takes the field's default (a file written before that column existed)."""
    values = {}
    for column in columns(shape, "csv"):
        if column.name not in record or record[column.name] is None:
            continue
        text = record[column.name]
        values[column.name] = None if column.nullable and text == "" else column.codec.from_text(text)
    return _build(shape, "csv", values)  # type: ignore[no-any-return]


def write_csv(shape: type, rows: Iterable[object]) -> str:
    """A CSV document: the header of `shape`, then each row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names(shape, "csv"))
    writer.writerows(to_text(row) for row in rows)
    return buffer.getvalue()


def read_csv(shape: type[R], text: str) -> list[R]:
    """The rows of a CSV document written by `write_csv`; a `ValueError` names a missing column
    or the first value that does not read back."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or ()
    missing = [c.name for c in columns(shape, "csv") if c.name not in header and not _defaulted(shape, c.path)]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    rows = []
    for number, record in enumerate(reader, 2):
        try:
            rows.append(from_text(shape, record))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return rows


def _defaulted(shape: type, path: tuple[str, ...]) -> bool:
    """Whether the field at `path` (or a dataclass around it) has a default."""
    for name in path:
        field, kind = next((f, k) for f, k in fields(shape) if f.name == name)
        if has_default(field):
            return True
        shape = typing.cast(type, _unwrap(kind)[0])
    return False


def schema_problems(declared: Sequence[tuple[str, str, bool]], shape: type) -> list[str]:
    """Differences between a table's declared columns (name, type, not null) and a row shape."""
    have = {name: (kind.upper(), notnull) for name, kind, notnull in declared}
    problems = []
    for column in columns(shape, "sql"):
        if column.name not in have:
            problems.append(f"{column.name}: missing")
        elif have[column.name] != (column.codec.sql_type, not column.nullable):
            problems.append(f"{column.name}: declared {have[column.name]}, spec says {column.declaration}")
    problems += [f"{name}: not in the spec" for name in have if name not in names(shape, "sql")]
    return problems
