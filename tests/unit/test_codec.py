"""Every record, every field set to something other than its default, through every form it has.

The codec derives each form from the declaration, so a field added to an outcome is stored, sent to
a worker, written to cells.csv and to JSON without another edit; these tests are what says so. A form
that dropped a field (a column left out by mistake, a hand-written copy that forgets one) reads the
field back as its default, and the filled value differs from every default.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from curator.channel.records import BundleRecord, ChannelRecord, Entry
from curator.channel.trust import Approval
from curator.execute.executors.wire import WireResult, WireTask
from curator.model import codec
from curator.model.codec import CodecError, Form, spec
from curator.model.ids import RunId
from curator.model.outcome import CellOutcome, Status
from curator.model.pins import PinList, Pins
from curator.nightly.night import Night
from curator.plan.cells import Plan
from curator.release.governance import Tally
from curator.release.signatures import GovernanceRecord
from curator.results.gate import PlatformState
from curator.results.rows import ResultRow, RunDocument
from curator.store.db import CellRecord, LockRow, NightlyRow, RunRecord, Store

T = TypeVar("T")
Text = Callable[[str], str]


_SERIAL = itertools.count(1)


def _plain(name: str) -> str:
    return f"{name}-{next(_SERIAL)}"


def fill(kind: Any, name: str = "value", text: Text = _plain, avoid: object = None) -> Any:  # noqa: PLR0912
    """A value of `kind` (not `avoid`) whose every field, at any depth, differs from that field's default."""
    base, _ = codec._unwrap(kind)
    if typing.get_origin(base) is typing.Union:
        return fill(typing.get_args(base)[-1], name, text, avoid)
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        return base(**{f.name: _field_value(f, k, text) for f, k in codec.fields(base)})
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(m for m in reversed(base) if m != avoid)
    if base is bool:
        return avoid is not True
    if base is int:
        return 7
    if base is float:
        return 2.5
    if base is str:
        return text(name)
    if base is bytes:
        return b"\x00\xffbytes"
    if base is PinList:
        return PinList([("pkg-a", "1.2"), ("other", "3.0rc1")])
    if base is Pins:
        return Pins([("pkg-a", "1.2"), ("other", "3.0.post1")])
    if base is Version:
        return Version("1.2.3")
    if base is SpecifierSet:
        return SpecifierSet(">=1,<2")
    if base is Path:
        return Path("/somewhere/else")
    if base in (object, Any):
        return {"key": ["value", 1]}
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return (fill(args[0], name, text), fill(args[0], name + "-b", text))
    if origin in (dict, Mapping):
        return {fill(args[0], name + "-key", text): fill(args[1], name, text)}
    raise TypeError(f"the test cannot fill {kind}")


def _field_value(f: dataclasses.Field[Any], kind: Any, text: Text) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else None
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    value = fill(kind, f.name, text, avoid=default)
    assert value != default, f"{f.name}: the filled value is its default"
    return value


def left_out(value: T, form: Form) -> T:
    """`value` with every field its form leaves out set back to its default (at any depth)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        if isinstance(value, tuple):
            return tuple(left_out(v, form) for v in value)  # type: ignore[return-value]
        return value
    changes = {}
    for f, _ in codec.fields(type(value)):
        if codec._spec_of(f, form) is None:
            changes[f.name] = codec.default(f)
        else:
            changes[f.name] = left_out(getattr(value, f.name), form)
    return replace(value, **changes)


JSON_SHAPES = [
    WireTask,
    CellOutcome,
    Night,
    Plan,
    RunDocument,
    RunRecord,
    ResultRow,
    Tally,
    GovernanceRecord,
    Entry,
    ChannelRecord,
    BundleRecord,
    PlatformState,
    Approval,
]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPv1BkPq9ZdBf080emyQRkdpU7HfT65pV7KEBRv4JZA"


def _keys_too(name: str) -> str:
    """Text for every field, and a real public key for a signer's `key` (its fingerprint is computed)."""
    return KEY if name == "key" else _plain(name)


@pytest.mark.parametrize("shape", JSON_SHAPES, ids=lambda s: s.__name__)
def test_every_field_survives_json(shape: type) -> None:
    value = fill(shape, text=_keys_too)
    data = codec.to_json(value)
    assert codec.from_json(shape, json.loads(json.dumps(data))) == left_out(value, "json")


def test_a_wire_result_keeps_every_field_and_its_log_bytes() -> None:
    result = fill(WireResult)
    assert WireResult.from_json(result.to_json()) == result  # dask moves the bytes as they are
    task = fill(WireTask)
    assert WireTask.from_json(json.loads(json.dumps(task.to_json()))) == task


def test_every_field_survives_the_store(tmp_path: Path) -> None:
    run = fill(RunRecord)
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(run)
        assert store.run(run.id) == run
        cell = replace(fill(CellRecord), run_id=run.id)
        cell = replace(cell, outcome=replace(cell.outcome, cell_id=cell.cell_id))  # one column: they are one id
        lock = fill(LockRow)
        assert store.record_cell(cell, lock=lock)
        (back,) = store.cells(run.id)
        assert back == cell
        assert store.lock(lock.key) == lock
        night = replace(fill(NightlyRow), run_id=run.id)
        store.record_nightly(night)
        assert store.nightly(run.id) == night


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\0"), min_size=1))
def test_every_field_survives_cells_csv(word: str) -> None:
    row = fill(ResultRow, text=lambda name: f"{word}{name}")
    (back,) = codec.read_csv(ResultRow, codec.write_csv(ResultRow, [row]))
    assert back == left_out(row, "csv")
    assert codec.names(ResultRow)[: len(ResultRow.CSV_ORDER)] == list(ResultRow.CSV_ORDER)


def test_cells_csv_has_every_suite_field_but_the_long_ones() -> None:
    header = codec.names(ResultRow)
    assert {"duration_s", "raw_status", "rule", "signature"} <= set(header)
    assert "tail" not in header and "cases" not in header and "duration" not in header


# ------------------------------------------------------------------ the codec's own rules


@dataclass(frozen=True)
class _Inner:
    status: Status
    pins: Pins


@dataclass(frozen=True)
class _Outer:
    JSON_COMPUTED: typing.ClassVar = {"size": "size"}

    name: str
    inner: _Inner
    items: tuple[_Inner, ...] = ()
    hidden: int = field(default=0, metadata=spec(json=None))
    renamed: float = field(default=0.0, metadata=spec(json="seconds", csv="seconds_s"))

    @property
    def size(self) -> int:
        return len(self.items)


def test_json_names_renames_leaves_out_and_computes() -> None:
    value = _Outer("a", _Inner(Status.FAILED, Pins({"x": "1"})), hidden=3, renamed=1.5)
    data = codec.to_json(value)
    assert data == {
        "name": "a",
        "inner": {"status": "failed", "pins": {"x": "1"}},
        "items": [],
        "seconds": 1.5,
        "size": 0,
    }
    assert codec.from_json(_Outer, data) == replace(value, hidden=0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inner": {"status": "failed", "pins": {}}}, "_Outer: no 'name'"),
        ({"name": "a", "inner": {"status": "bogus", "pins": {}}}, "_Outer.inner.status: 'bogus' is not a Status"),
        ({"name": 1, "inner": {"status": "failed", "pins": {}}}, "_Outer.name: 1 is not text"),
        (
            {"name": "a", "inner": {"status": "failed", "pins": {}}, "items": [{"status": "passed", "pins": []}]},
            "_Outer.items[0].pins: [] is not a mapping of name to version",
        ),
        ({"name": "a", "inner": {"status": "failed", "pins": {}}, "seconds": True}, "seconds: True is not a number"),
        ([], "_Outer: [] is not an object"),
    ],
)
def test_a_document_of_another_shape_names_the_part(data: object, message: str) -> None:
    with pytest.raises(CodecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        codec.from_json(_Outer, data)


def test_flat_rows_flatten_nested_shapes_and_share_a_name() -> None:
    @dataclass(frozen=True)
    class Row:
        run_id: RunId
        outer: _Outer

    assert codec.names(Row, "sql") == ["run_id", "name", "status", "pins", "items", "hidden", "renamed"]
    assert codec.names(Row, "csv")[-1] == "seconds_s"
