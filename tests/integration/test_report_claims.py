"""Every sentence the report claims holds in cells.csv.

A run of the fixture ecosystem with mixed results — a newest candidate that passes in its upgrade
cell but fails beside an old neighbour, one that crashes, one refused by the resolver (and split),
one that passes everywhere — is rendered, and each claim of "What is broken" and "What holds the
release back" is read back out of the HTML and checked against the run's cells.csv. A sentence
the checker cannot read fails the test too: a new kind of claim needs a check here.
"""

from __future__ import annotations

import html.parser
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from curator import manifest
from curator.cli import main
from curator.model import codec
from curator.model.outcome import Status
from curator.resolve.lock import mentioned
from curator.results.rows import ResultRow, read_cells_csv
from tests.integration.conftest import EcoManifest

PACKAGES = """\
  cfx-base: {versions: ["1.0", "2.0"], blessed: "1.0"}
  cfx-user: ["1.0", "1.1"]
  cfx-crash: {versions: ["0.9", "1.0"], blessed: "0.9"}
  cfx-esc: {versions: ["1.0", "2.0"], blessed: "1.0"}
  cfx-tmpl: {versions: ["2.0", "3.0"], blessed: "2.0"}
"""
SUITES = {
    "user": (["cfx-user", "cfx-base"], "import cfx_user\n\ndef test_run():\n    assert cfx_user.run() == 2\n"),
    "crash": (["cfx-crash"], "import cfx_crash\n\ndef test_state():\n    assert cfx_crash.STATE == 'fine'\n"),
    "tmpl-esc": (["cfx-tmpl", "cfx-esc"], "import cfx_tmpl\n\ndef test_render():\n    assert cfx_tmpl.render('<')\n"),
}
WORKED = {Status.PASSED, Status.FLAKY, Status.UNEXPECTED_PASS}


class _Text(html.parser.HTMLParser):
    """The text of every <p> and of every finding's summary line, per section of the report."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.paragraphs: dict[str, list[str]] = {}
        self.facts: list[tuple[str, str]] = []  # (signature, summary facts) of each finding
        self.about: list[tuple[str, str]] = []  # (signature, paragraph) in "What is broken"
        self._open: list[str] = []
        self._buffer: list[str] | None = None
        self._signature = ""
        self._kind = ""
        self._class = ""
        self._p_class = ""
        self.on_pages: list[tuple[str, str]] = []  # (package, sentence) of each package's page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if (tag == "h2" and "pkg-title" not in classes) or (tag == "section" and "pkg-page" in classes):
            self.section = attributes.get("id") or ""
        self._class = " ".join(classes)
        if tag == "code" and "sig" in classes:
            self._start("sig")
        elif tag == "span" and "facts" in classes:
            self._start("facts")
        elif tag == "p" and self._buffer is None:
            self._start("p")
            self._p_class = self._class

    def _start(self, kind: str) -> None:
        self._kind, self._buffer = kind, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.section.startswith("pkg-"):
            self.section = ""
        ends = {"sig": "code", "facts": "span", "p": "p"}
        if self._buffer is None or ends[self._kind] != tag:
            return
        text = " ".join("".join(self._buffer).split())
        if self._kind == "sig":
            self._signature = text
        elif self._kind == "facts":
            self.facts.append((self._signature, text))
        else:
            self.paragraphs.setdefault(self.section, []).append(text)
            if self.section == "broken":
                self.about.append((self._signature, text))
            if self.section.startswith("pkg-") and not self._p_class:  # the claims of a package's page
                self.on_pages.append((self.section.removeprefix("pkg-"), text))
        self._buffer = None

    def handle_data(self, data: str) -> None:
        if self._buffer is not None:
            self._buffer.append(data)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, runner_wheels: Path) -> tuple[Path, Path]:
    from tests.conftest import manifest_writer
    from tests.integration.conftest import eco_manifest_factory

    folder = tmp_path_factory.mktemp("claims")
    make: EcoManifest = eco_manifest_factory(manifest_writer(folder), wheelhouse, runner_wheels)
    path = make(PACKAGES, suites=SUITES, extra="matrix:\n  strategy: pairs\n  split_unresolvable: true\n")
    out = folder / "out"
    assert main(["run", str(path), "--out", str(out), "--plain"]) == 1
    return path, out


class Claims:
    """cells.csv, and checks of what a sentence may say about it."""

    def __init__(self, rows: list[ResultRow], distribution: manifest.Distribution) -> None:
        self.rows = rows
        self.distribution = distribution
        self.cells = {r.cell for r in rows}

    def holding(self, name: str, version: str) -> set[str]:
        return {r.cell for r in self.rows if r.pins.get(name) == Version(version)}

    def status(self, cell: str, suite: str) -> Status:
        (row,) = [r for r in self.rows if r.cell == cell and r.outcome.suite == suite]
        return row.outcome.status

    def suites_of(self, name: str) -> set[str]:
        package = self.distribution.package(name)
        found = {s.name for s in self.distribution.suites if package.name in s.requires}
        return found | ({package.suite_name} if package.tests else set())


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def _check_causes(claims: Claims, name: str, version: str, text: str) -> int:
    """`unresolvable in CELLS: reason` and `STATUS in CELLS (SUITE): signature`, joined by `; `."""
    found = 0
    pattern = re.compile(r"(?:^|; )(?P<status>[a-z-]+) in (?P<cells>py\S+(?:, py\S+)*?)(?: \((?P<suite>[^)]+)\))?: ")
    for match in pattern.finditer(text):
        status = Status(match["status"])
        for cell in _ids(match["cells"]):
            assert cell in claims.holding(name, version), f"{cell} does not hold {name} {version}: {text}"
            suites = [match["suite"]] if match["suite"] else [r.outcome.suite for r in claims.rows if r.cell == cell]
            assert any(claims.status(cell, s) is status for s in suites), f"{cell} {suites} not {status}: {text}"
            found += 1
    assert found, f"no cause could be read: {text}"
    return found


def _held_header(claims: Claims, match: re.Match[str]) -> None:
    package = claims.distribution.package(match[1])
    assert (str(package.blessed), str(max(package.versions))) == (match[2], match[3])


def _passed_everywhere(claims: Claims, match: re.Match[str]) -> None:
    holding = claims.holding(match["name"], match["version"])
    assert len(holding) == int(match["n"]), match[0]
    suites = set(_ids(match["suites"]))
    assert suites <= claims.suites_of(match["name"]) or not claims.suites_of(match["name"])
    for row in claims.rows:
        if row.cell in holding and row.outcome.suite in suites:
            assert row.outcome.status in WORKED, f"{row.cell} {row.outcome.suite} is {row.outcome.status}: {match[0]}"


_BESIDE = re.compile(r"(?P<status>[a-z-]+) beside (?P<what>.+?) in (?P<cells>py\S+(?:, py\S+)*) \((?P<suite>[^)]+)\): ")


def _passed_in_own_cell(claims: Claims, match: re.Match[str]) -> None:
    name, version, sentence = match["name"], match["version"], match[0]
    for cell in _ids(match["own"]):
        assert cell in claims.holding(name, version), sentence
        assert all(set(r.changes) <= {name} for r in claims.rows if r.cell == cell), f"{cell} changes more: {sentence}"
        for suite in _ids(match["suites"]):
            assert claims.status(cell, suite) in WORKED, f"{cell} {suite}: {sentence}"
    found = 0
    for part in _BESIDE.finditer(match["rest"]):
        for cell in _ids(part["cells"]):
            assert cell in claims.holding(name, version), sentence
            for pin in _ids(part["what"]):
                other, other_version = pin.split(" ")
                assert cell in claims.holding(other, other_version), f"{cell} lacks {pin}: {sentence}"
            assert claims.status(cell, part["suite"]) is Status(part["status"]), sentence
            found += 1
    assert found, f"nothing read beside its own cell: {sentence}"


def _fails(claims: Claims, match: re.Match[str]) -> None:
    _check_causes(claims, match["name"], match["version"], match["rest"])


def _untested(claims: Claims, match: re.Match[str]) -> None:
    assert not claims.holding(match["name"], match["version"]), match[0]


def _none_tested(claims: Claims, match: re.Match[str]) -> None:
    for candidate in _ids(match["candidates"]):
        assert not claims.holding(*candidate.split(" ")), match[0]


HELD: dict[str, tuple[str, Callable[[Claims, re.Match[str]], None]]] = {
    "none tested": (
        r"No cell of this run tested (?P<candidates>.+?)(?:: the \S+ strategy did not ask for (?:it|them))?\.$",
        _none_tested,
    ),
    "header": (r"(\S+) — ships (\S+), newest (\S+)$", _held_header),
    "passed everywhere": (
        r"(?P<name>\S+) (?P<version>\S+) passed its suites \((?P<suites>[^)]*)\) in every cell that holds it "
        r"\((?P<n>\d+) cells?\), but \S+ blesses \S+: nothing in the evidence holds it back",
        _passed_everywhere,
    ),
    "passed in its own cell": (
        r"(?P<name>\S+) (?P<version>\S+) passed its suites \((?P<suites>[^)]*)\) in its (upgrade|own) cells? "
        r"(?P<own>py\S+(?:, py\S+)*), where everything else is blessed; it (?P<rest>.*)\. \S+ blesses",
        _passed_in_own_cell,
    ),
    "stays": (
        r"(?P<name>\S+) stays at \S+ because (?P<version>\S+) is (refused by the resolver|broken|refused and broken): "
        r"(?P<rest>.*)",
        _fails,
    ),
    "fails at newest": (r"(?P<name>\S+) ships its newest, (?P<version>\S+), but it fails: (?P<rest>.*)", _fails),
    "untested": (r"(?P<name>\S+) (?P<version>\S+) was not tested in this run \(no cell holds it\)", _untested),
}


def _holds_back(claims: Claims, package: str, held: str) -> None:
    """`Holds back, by a requirement of its own the resolver cites: A, B.` on the page of `package`:
    A and B each ship below their newest, and a cell changing them to it was refused naming `package`."""
    for name in _ids(held):
        candidate = claims.distribution.package(name)
        newest = max(candidate.versions)
        assert candidate.blessed < newest, (package, name)
        refusals = [
            r
            for r in claims.rows
            if r.outcome.status is Status.UNRESOLVABLE
            and r.changes.get(name) == newest
            and r.cell in claims.holding(name, str(newest))
        ]
        assert any(mentioned(r.outcome.reason, [package]) == [package] for r in refusals), (package, held)


def _check_held(claims: Claims, sentence: str) -> str:
    """Check one sentence of "What holds the release back"; returns which kind it was."""
    for kind, (pattern, check) in HELD.items():
        if match := re.match(pattern, sentence):
            check(claims, match)
            return kind
    raise AssertionError(f"a claim the checker cannot read: {sentence!r}")


def _condition(text: str) -> Callable[[ResultRow], bool]:
    name, op, version = re.fullmatch(r"([\w.-]+?)(==|>=|<=)(\S+)", text).groups()  # type: ignore[union-attr]
    spec = SpecifierSet(f"{op}{version}")
    return lambda row: (v := row.pins.get(name)) is not None and spec.contains(v, prereleases=True)


def _check_finding(claims: Claims, signature: str, facts: str) -> None:
    """`— N cells, each with A==1 B>=2 (no cell where these suites worked has all of that); the
    resolver names X, Y`."""
    hits = [r for r in claims.rows if (r.outcome.signature or f"{r.outcome.status}: {r.outcome.reason}") == signature]
    assert hits, f"no outcome has the signature {signature!r}"
    match = re.match(
        r"— (?P<n>\d+) cells?(?:, each with (?P<cause>[^(;]+?)(?P<separates> \(no cell where these suites worked "
        r"has all of that\))?)?(?:, baseline included)?(?:; the resolver names (?P<names>[^·]+?))?(?: · .*)?$",
        facts,
    )
    assert match, f"a finding the checker cannot read: {facts!r}"
    cells = {r.cell for r in hits}
    assert len(cells) == int(match["n"]), facts
    if match["cause"]:
        conditions = [_condition(part) for part in match["cause"].split()]
        for cell in cells:
            row = next(r for r in hits if r.cell == cell)
            assert all(holds(row) for holds in conditions), f"{cell} does not hold {match['cause']}"
        if match["separates"]:
            suites, pythons = {r.outcome.suite for r in hits}, {r.python for r in hits}
            for row in claims.rows:
                if (
                    row.cell not in cells
                    and row.outcome.suite in suites
                    and row.python in pythons
                    and row.outcome.status in WORKED
                ):
                    assert not all(holds(row) for holds in conditions), f"{row.cell} worked with {match['cause']}"
    if match["names"]:
        named = _ids(match["names"])
        reasons = " ".join(r.outcome.reason for r in hits)
        assert mentioned(reasons, named) == named, facts


def _check_broken(claims: Claims, signature: str, paragraph: str) -> str:
    """A paragraph of "What is broken" about one finding (or the section's note)."""
    hits = [r for r in claims.rows if (r.outcome.signature or f"{r.outcome.status}: {r.outcome.reason}") == signature]
    if match := re.match(r"(\d+) cells?, (\d+) suite outcomes?, Python ([\d.]+(?:, [\d.]+)*) · ", paragraph):
        assert (int(match[1]), int(match[2])) == (len({r.cell for r in hits}), len(hits)), paragraph
        assert _ids(match[3]) == sorted({r.python for r in hits}, key=Version), paragraph
        return "counts"
    if match := re.match(r"Retried in smaller environments \(--split-unresolvable\): (.*)", paragraph):
        pairs = re.findall(r"(py\S+) \S ([a-z-]+)", match[1])
        assert pairs, paragraph
        for cell, status in pairs:
            statuses = [r.outcome.status for r in claims.rows if r.cell == cell]
            assert max(statuses, key=lambda s: s.severity) is Status(status), paragraph
        return "split"
    if match := re.match(r"End of the log of (\S+) in (\S+) \(whole log\):", paragraph):
        assert any(r.cell == match[2] and r.outcome.suite == match[1] for r in hits), paragraph
        return "log"
    if paragraph.startswith("One finding per failure signature"):
        return "note"
    raise AssertionError(f"a claim the checker cannot read: {paragraph!r}")


def test_every_claim_of_the_report_holds_in_cells_csv(mixed_run: tuple[Path, Path]) -> None:
    path, out = mixed_run
    claims = Claims(read_cells_csv((out / "cells.csv").read_text(), "cells.csv"), manifest.load(path))
    text = _Text()
    text.feed((out / "index.html").read_text())
    kinds = [
        _check_held(claims, sentence) for sentence in text.paragraphs["held"] if not sentence.startswith("Packages")
    ]
    # the run was built to hold one sentence of each kind the evidence allows
    assert sorted(kinds) == sorted(["header"] * 4 + ["passed in its own cell", "stays", "stays", "passed everywhere"])
    for signature, facts in text.facts:
        _check_finding(claims, signature, facts)
    assert len(text.facts) == 3
    # each package's page says why it is held back, and what it holds back, in sentences that hold too
    on_pages = []
    for package, sentence in text.on_pages:
        if match := re.fullmatch(r"Holds back, by a requirement of its own the resolver cites: (.+)\.", sentence):
            _holds_back(claims, package, match[1])
            on_pages.append("holds back")
        else:
            kind = _check_held(claims, sentence)
            assert re.match(rf"{re.escape(package)} ", sentence), (package, sentence)
            on_pages.append(kind)
    assert sorted(on_pages) == sorted(["passed in its own cell", "stays", "stays", "passed everywhere", "holds back"])
    read = sorted(_check_broken(claims, signature, paragraph) for signature, paragraph in text.about)
    assert read == sorted(["note", "split", *["counts"] * 3, *["log"] * 3])


def test_the_sentences_say_what_the_evidence_shows(mixed_run: tuple[Path, Path]) -> None:
    _, out = mixed_run
    text = _Text()
    text.feed((out / "index.html").read_text())
    held = " ".join(text.paragraphs["held"])
    # cfx-base 2.0 failed beside cfx-user 1.0: never "passed in every cell that holds it"
    assert (
        "cfx-base 2.0 passed in every cell" not in held and "cfx-base 2.0 passed its suites (user) in every" not in held
    )
    assert (
        "cfx-base 2.0 passed its suites (user) in its upgrade cell py3.12-cfx-base@2.0, where everything else is "
        "blessed; it failed beside cfx-user 1.0 in py3.12-cfx-base@2.0-cfx-user@1.0 (user): AttributeError"
    ) in held
    assert "cfx-esc 2.0 passed its suites (tmpl-esc) in every cell that holds it (2 cells)" in held
    facts = dict(text.facts)
    (old_api,) = [f for s, f in facts.items() if "old_api" in s]
    assert old_api.startswith("— 1 cell, each with cfx-base==2.0 cfx-user==1.0 (no cell where these suites worked")
    (refused,) = [f for s, f in facts.items() if "unsatisfiable" in s]
    assert "each with cfx-esc==1.0 cfx-tmpl==3.0" in refused and "the resolver names cfx-esc, cfx-tmpl" in refused


def test_report_json_gives_each_unexpected_outcome_its_signature(
    mixed_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = mixed_run
    rows = {(r.cell, r.outcome.suite): r for r in read_cells_csv((out / "cells.csv").read_text(), "cells.csv")}
    capsys.readouterr()
    assert main(["report", str(out), "--format", "json"]) == 1
    unexpected = json.loads(capsys.readouterr().out)["unexpected"]
    assert {(u["cell"], u["suite"], u["status"]) for u in unexpected} == {
        ("py3.12-cfx-base@2.0-cfx-user@1.0", "user", "failed"),
        ("py3.12-cfx-crash@1.0", "crash", "crashed"),
    }
    for entry in unexpected:
        assert entry["signature"] and entry["signature"] == rows[entry["cell"], entry["suite"]].outcome.signature


def test_report_json_has_a_row_per_cell_and_suite_equal_to_cells_csv(
    mixed_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = mixed_run
    text = (out / "cells.csv").read_text()
    capsys.readouterr()
    assert main(["report", str(out), "--format", "json"]) == 1
    suites = json.loads(capsys.readouterr().out)["suites"]
    assert [list(row) for row in suites] == [codec.names(ResultRow)] * len(suites)
    assert [codec.row_from_json(ResultRow, row) for row in suites] == read_cells_csv(text, "cells.csv")
    assert len({(row["cell"], row["suite"]) for row in suites}) == len(suites) == text.count("\n") - 1
