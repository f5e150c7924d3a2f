"""The pure parts of a release: package and outcome changes, SHA256SUMS, the tarball, licences, the pinned manifest."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.utils import NormalizedName
from packaging.version import Version

from curator import manifest
from curator.model.ids import PyVersion
from curator.release import archive as files
from curator.release import changes, sbom
from curator.release.bundle import pinned_manifest, pylock_name


def _v(**pins: str) -> dict[NormalizedName, Version]:
    return {NormalizedName(n.replace("_", "-")): Version(v) for n, v in pins.items()}


def test_compare_sorts_every_change_per_python() -> None:
    py311, py312, py313 = PyVersion("3.11"), PyVersion("3.12"), PyVersion("3.13")
    old = {py311: _v(numpy="1.26.4", pandas="2.2.3", six="1.16"), py312: _v(numpy="1.26.4")}
    new = {py311: _v(numpy="2.1.3", pandas="2.1.1", tzdata="2024.1"), py313: _v(numpy="2.1.3")}
    result = {c.python: c for c in changes.compare(old, new)}
    assert list(result) == ["3.11", "3.12", "3.13"]
    assert result["3.11"].upgraded == (changes.Moved("numpy", "1.26.4", "2.1.3"),)
    assert result["3.11"].downgraded == (changes.Moved("pandas", "2.2.3", "2.1.1"),)
    assert result["3.11"].added == (changes.Present("tzdata", "2024.1"),)
    assert result["3.11"].removed == (changes.Present("six", "1.16"),)
    assert result["3.12"].removed == (changes.Present("numpy", "1.26.4"),)
    assert result["3.13"].added == (changes.Present("numpy", "2.1.3"),)
    assert result["3.11"].lines(frozenset({"numpy"}))[0] == "upgraded numpy (blessed) 1.26.4 → 2.1.3"
    assert changes.compare(old, old)[0].empty


def test_compare_outcomes_names_changed_new_and_gone_cells() -> None:
    old = {("py3.12-baseline", "sides"): "passed", ("py3.12-x", "sides"): "failed"}
    new = {("py3.12-baseline", "sides"): "failed", ("py3.12-y", "sides"): "passed"}
    found = [c.describe() for c in changes.compare_outcomes(old, new)]
    assert found == [
        "py3.12-baseline × sides: passed → failed",
        "py3.12-x × sides: failed → (not run)",
        "py3.12-y × sides: (not run) → passed",
    ]


def test_sums_round_trip_and_refuse_paths_outside(tmp_path: Path) -> None:
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "py3.12.txt").write_text("a==1\n")
    (tmp_path / "SHA256SUMS.sig").write_text("not listed")
    digest = hashlib.sha256(b"a==1\n").hexdigest()
    text = files.render_sums(tmp_path)
    assert text == f"{digest}  locks/py3.12.txt\n"
    assert files.parse_sums(text) == {"locks/py3.12.txt": digest}
    with pytest.raises(ValueError, match="leaves the bundle"):
        files.parse_sums(f"{'0' * 64}  ../etc/passwd\n")
    with pytest.raises(ValueError, match=r"SHA256SUMS:1"):
        files.parse_sums("deadbeef  x\n")


def test_tarball_bytes_ignore_mtimes_modes_and_owners(tmp_path: Path) -> None:
    digests = []
    for attempt, (mode, mtime) in enumerate([(0o600, 1_000_000), (0o755, 2_000_000)]):
        folder = tmp_path / f"src{attempt}"
        (folder / "b").mkdir(parents=True)
        for name in ("z.txt", "a.txt", "b/c.txt"):
            (folder / name).write_text(name)
            (folder / name).chmod(mode)
            os.utime(folder / name, (mtime, mtime))
        digests.append(files.write_tarball(folder, "eco-1.0", tmp_path / f"{attempt}.tar.gz", 1_700_000_000))
    assert digests[0] == digests[1]
    with tarfile.open(tmp_path / "0.tar.gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["eco-1.0", "eco-1.0/a.txt", "eco-1.0/b", "eco-1.0/b/c.txt", "eco-1.0/z.txt"]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 1_700_000_000)}
    header = (tmp_path / "0.tar.gz").read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # no gzip timestamp
    assert gzip.decompress((tmp_path / "0.tar.gz").read_bytes())  # and a valid gzip stream


def _metadata(*lines: str) -> Metadata:
    return Metadata.from_email("\n".join(["Metadata-Version: 2.4", "Name: x", "Version: 1", *lines]), validate=False)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("License-Expression: BSD-3-Clause", "License: MIT"), ("expression", "BSD-3-Clause")),
        (("License: MIT", "Classifier: License :: OSI Approved :: BSD License"), ("name", "MIT")),
        (
            (
                "License: Copyright (c) NumPy\n        All rights reserved.",
                "Classifier: License :: OSI Approved :: BSD License",
            ),
            ("name", "BSD License"),
        ),
        (("Classifier: License :: OSI Approved :: MIT License",), ("name", "MIT License")),
        ((), None),
    ],
)
def test_licence_prefers_expression_then_short_license_then_classifiers(
    lines: tuple[str, ...], expected: tuple[str, str] | None
) -> None:
    assert sbom.licence(_metadata(*lines)) == expected


def test_pinned_manifest_keeps_comments_and_parses(tmp_path: Path) -> None:
    path = tmp_path / "distribution.yaml"
    path.write_text(
        "distribution: pydata-core\n"
        'version: "2026.11"\n'
        'python: ["3.12"]\n'
        "packages:\n"
        '  numpy: ["1.26.4", "2.1.3"]  # shorthand\n'
        "  pandas:\n"
        "    versions:\n"
        '      - "2.1.1"\n'
        '      - "2.2.3"\n'
        '    blessed: "2.2.3"\n'
        "  networkx:\n"
        '    versions: ["3.3", "3.4.2"]\n'
        '    blessed: "3.3"\n'
        '    tests: ["pytest --pyargs networkx -q"]\n'
    )
    dist = manifest.load(path)
    text = pinned_manifest(dist, "run-1")
    assert '  numpy: ["2.1.3"]  # shorthand\n' in text
    assert '    versions: ["2.2.3"]\n    blessed: "2.2.3"\n' in text
    parsed = manifest.parse(text.encode(), path)
    assert {p.name: [str(v) for v in p.versions] for p in parsed.packages} == {
        "numpy": ["2.1.3"],
        "pandas": ["2.2.3"],
        "networkx": ["3.3"],
    }
    assert parsed.package("networkx").tests == ("pytest --pyargs networkx -q",)


@pytest.mark.parametrize(
    "exclude",
    [
        pytest.param("  exclude:\n    - {numpy: '1.26.4', pandas: '2.2.3'}\n    - {numpy: '<2'}\n", id="block"),
        pytest.param("  exclude: [{numpy: '1.26.4'}]\n", id="flow"),
    ],
)
def test_a_pinned_manifest_leaves_out_exclude_patterns_of_candidates_it_no_longer_lists(
    tmp_path: Path, exclude: str
) -> None:
    path = tmp_path / "distribution.yaml"
    path.write_text(
        'distribution: pydata-core\nversion: "2026.11"\npython: ["3.12"]\npackages:\n'
        '  numpy: ["1.26.4", "2.1.3"]\n  pandas: ["2.1.1", "2.2.3"]\n'
        f"matrix:\n  strategy: pairs\n{exclude}  include:\n    - pins: {{numpy: '1.26.4'}}\n"
    )
    parsed = manifest.parse(pinned_manifest(manifest.load(path), "run-1").encode(), path)
    assert parsed.matrix.exclude == () and parsed.matrix.strategy.value == "pairs"
    assert [str(i.pins) for i in parsed.matrix.include] == ["numpy==1.26.4"]  # an include may name any version


def test_pylock_names_follow_pep_751() -> None:
    assert pylock_name("3.12") == "pylock.py312.toml"
