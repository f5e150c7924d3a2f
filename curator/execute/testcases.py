"""JUnit XML (as pytest writes it) → test cases, reruns de-duplicated (the last one wins)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from curator.model.outcome import TestCase

_COLLECTION_SKIPPED = "collection skipped"
_SKIP_REPR = re.compile(r"""^\(.*, \d+, (['"])(?:Skipped: )?(?P<reason>.*)\1\)$""", re.DOTALL)
"""pytest's text of a module skipped at collection: `('/path/test_x.py', 3, "Skipped: could not import 'numpy'…")`."""


def read(path: Path) -> tuple[TestCase, ...]:
    """Test cases of a JUnit file; a missing or truncated file has none."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314
    except (OSError, ET.ParseError):
        return ()
    cases: dict[tuple[str, str], TestCase] = {}
    for element in root.iter("testcase"):
        classname = element.get("classname", "")
        name = element.get("name", "")
        outcome, message = "passed", ""
        for child in element:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or child.text or "").strip()
                if message == _COLLECTION_SKIPPED and child.text:  # a module skipped whole: why is in the text
                    found = _SKIP_REPR.match(child.text.strip())
                    message = found["reason"] if found else child.text.strip()
                break
        try:
            duration = float(element.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        cases.pop((classname, name), None)  # a rerun: keep the last, in its own position
        cases[classname, name] = TestCase(classname, name, outcome, duration, message[:2000])
    return tuple(cases.values())
