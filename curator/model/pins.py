"""Pins: which version of which package a cell holds, as one value with one text form.

A `Pins` maps normalised package names to `Version`s and keeps the order it was built in
(manifest order). Its text form — sorted, space-separated `name==version`, the `pins` and
`changes` columns of cells.csv and of the store — is written by `str()` and read back by
`Pins.parse`, which refuses anything it cannot read instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar, overload

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

_T = TypeVar("_T")


class Pins(Mapping[NormalizedName, Version]):
    """An immutable, hashable, ordered mapping of package name → pinned version."""

    __slots__ = ("_index", "_items", "_sorted", "_text")

    def __init__(self, items: Iterable[tuple[str, Version | str]] | Mapping[str, Version | str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        found: dict[NormalizedName, Version] = {}
        for name, version in pairs:
            found[canonicalize_name(name)] = version if isinstance(version, Version) else Version(version)
        self._items: tuple[tuple[NormalizedName, Version], ...] = tuple(found.items())
        self._index = found  # lookups by name stay O(1) for a cell of a thousand packages
        self._sorted = tuple(sorted(self._items))
        self._text: str | None = None

    @classmethod
    def parse(cls, text: str) -> Pins:
        """Read the text form (`a==1 b==2`); a `ValueError` names the part that is not a pin."""
        pairs: list[tuple[str, Version]] = []
        for part in text.split():
            name, sep, version = part.partition("==")
            try:
                if not sep or not name:
                    raise ValueError
                pairs.append((canonicalize_name(name, validate=True), Version(version)))
            except (ValueError, InvalidName, InvalidVersion):
                raise ValueError(f"{part!r} is not a pin like 'name==1.2'") from None
        return cls(pairs)

    @classmethod
    def from_json(cls, data: object) -> Pins:
        """The inverse of `to_json` (`{"name": "version"}`)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"pins must be a mapping of name to version, not {type(data).__name__}")
        return cls((str(name), str(version)) for name, version in data.items())

    def to_json(self) -> dict[str, str]:
        """`{"name": "version"}` in this value's order."""
        return {name: str(version) for name, version in self._items}

    def __str__(self) -> str:
        """The text form: sorted by name, space-separated `name==version`."""
        if self._text is None:  # a baseline of a thousand packages is written on every one of its rows
            self._text = " ".join(f"{name}=={version}" for name, version in self._sorted)
        return self._text

    def requirements(self) -> list[str]:
        """`name==version` for each pin, in this value's order (what a resolver is asked for)."""
        return [f"{name}=={version}" for name, version in self._items]

    def with_(self, other: Mapping[NormalizedName, Version]) -> Pins:
        """These pins with `other`'s versions in their place (new names appended)."""
        merged = dict(self._items)
        merged.update(other)
        return Pins(merged.items())

    def only(self, names: Iterable[str]) -> Pins:
        """The pins of `names` (in this value's order)."""
        wanted = {canonicalize_name(n) for n in names}
        return Pins((n, v) for n, v in self._items if n in wanted)

    # Mapping protocol --------------------------------------------------------

    def __getitem__(self, name: str) -> Version:
        try:
            return self._index[canonicalize_name(name)]
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[NormalizedName]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonicalize_name(name) in self._index

    @overload
    def get(self, name: str, /) -> Version | None: ...
    @overload
    def get(self, name: str, default: Version, /) -> Version: ...
    @overload
    def get(self, name: str, default: _T, /) -> Version | _T: ...
    def get(self, name: str, default: object = None, /) -> object:
        """The version pinned for `name` (any spelling), else `default`."""
        try:
            return self[name]
        except KeyError:
            return default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pins):
            return self._sorted == other._sorted
        if isinstance(other, Mapping):
            return dict(self._items) == {canonicalize_name(str(k)): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._sorted)

    def __repr__(self) -> str:
        return f"Pins({str(self)!r})"


class PinList(Pins):
    """Pins whose JSON form is a list of `name==version` in order (nightly.json's culprits,
    upgrades and a probe's changes: the contract says so)."""

    __slots__ = ()

    def to_list(self) -> list[str]:
        """`["name==version", …]`, in this value's order."""
        return self.requirements()

    @classmethod
    def from_list(cls, data: object) -> PinList:
        """The inverse of `to_list`; a `ValueError` names what is not a pin."""
        if not isinstance(data, list | tuple) or not all(isinstance(item, str) for item in data):
            raise ValueError("pins must be a list of 'name==version'")
        if any(not item or item.split() != [item] for item in data):
            raise ValueError(f"{data!r} holds something that is not a pin like 'name==1.2'")
        return cls(Pins.parse(" ".join(data)).items())
