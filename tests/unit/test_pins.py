"""Pins: one value for "which version of which package", with one text form read back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from curator.model.pins import Pins


def test_text_form_is_sorted_and_reads_back() -> None:
    pins = Pins([("Pandas", "2.2.3"), ("numpy", Version("2.1.3")), ("zope.interface", "6.0")])
    assert str(pins) == "numpy==2.1.3 pandas==2.2.3 zope-interface==6.0"
    assert list(pins) == ["pandas", "numpy", "zope-interface"]  # built order kept (manifest order)
    assert Pins.parse(str(pins)) == pins and hash(Pins.parse(str(pins))) == hash(pins)
    assert pins["PANDAS"] == Version("2.2.3") and "Zope.Interface" in pins and pins.get("scipy") is None


@pytest.mark.parametrize("text", ["numpy", "numpy==", "==1.0", "numpy>=1.0", "numpy==not-a-version", "bad name==1"])
def test_a_part_that_is_not_a_pin_is_an_error_not_dropped(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a pin like 'name==1\.2'"):
        Pins.parse(f"pandas==2.2.3 {text}")


def test_json_form_and_merging() -> None:
    pins = Pins({"numpy": "2.1.3", "pandas": "2.2.3"})
    assert Pins.from_json(pins.to_json()) == pins
    assert pins.with_(Pins({"numpy": "1.26.4", "scipy": "1.14"})).requirements() == [
        "numpy==1.26.4",
        "pandas==2.2.3",
        "scipy==1.14",
    ]
    assert pins.only(["pandas"]) == {"pandas": Version("2.2.3")}
    assert not Pins() and str(Pins()) == ""


names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
versions = st.builds(lambda parts: ".".join(map(str, parts)), st.lists(st.integers(0, 30), min_size=1, max_size=4))


@given(st.dictionaries(names, versions, max_size=8))
def test_any_pins_round_trip_through_text(mapping: dict[str, str]) -> None:
    pins = Pins(mapping)
    assert Pins.parse(str(pins)) == pins
