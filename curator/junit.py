"""JUnit XML (as pytest writes it) → test cases, reruns de-duplicated (the last one wins)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from curator.outcome import TestCase


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
                break
        try:
            duration = float(element.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        cases.pop((classname, name), None)  # a rerun: keep the last, in its own position
        cases[classname, name] = TestCase(classname, name, outcome, duration, message[:2000])
    return tuple(cases.values())
