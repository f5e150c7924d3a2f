"""Cut a release: the gate, then `DIR/<distribution>-<version>/` and its reproducible tarball.

Everything is written into a staging folder inside DIR and placed at the end, the folder and
the tarball as one step as far as the filesystem allows (`release.place`): a release killed at
any moment leaves the previous bundle, or none, never half of one. Every file is a function of
the gating run, the manifest, the package files and the key: the same inputs give the same
tarball, byte for byte. With `governance` in the manifest, the key signs first, as the maintainer
it belongs to (`signatures/<principal>.sig`); the others add theirs with `curator sign`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import yaml
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from curator import __version__, manifest
from curator.host.layout import BundleLayout, RunLayout
from curator.host.locking import FolderLock
from curator.model import codec
from curator.model.distribution import Distribution
from curator.model.errors import GateNotMet, NotASigner, ToolError, UsageError
from curator.model.ids import PyVersion
from curator.release import archive as files
from curator.release import changes, governance, place, sbom, signatures, signing, wheelhouse
from curator.release import platforms as shipping
from curator.release import provenance as gate
from curator.release.contents import Folder
from curator.release.governance import Signers, Tally
from curator.report.publish import rerender
from curator.resolve import metadata as core_metadata
from curator.resolve.interpreters import Finder
from curator.resolve.lock import Lock, LockedFile, Resolver, parse_requirements, pylock_files
from curator.store.db import Store

RELEASE_JSON = BundleLayout(Path()).release_json.name


@dataclass(frozen=True)
class ReleaseRequest:
    """What `curator release` was asked to do."""

    distribution: Distribution
    store_path: Path
    run: str  # a run folder or a run id
    out_dir: Path
    finder: Finder
    cache: Path
    key: signing.SigningKey | None  # None: cut unsigned (the CLI insists on --unsigned)
    wheelhouse: bool = False
    signers: Signers | None = None  # the manifest's governance, its signers file read
    force: bool = False
    epoch: int | None = None  # SOURCE_DATE_EPOCH; default: when the gating run finished


@dataclass(frozen=True)
class Release:
    """A cut release: where it is, what it holds, and its tarball's sha256."""

    name: str
    folder: Path
    tarball: Path
    sha256: str
    files: int
    size: int
    wheels: int
    fingerprint: str | None
    previous: str | None
    evidence: gate.Evidence
    pylocks: tuple[str, ...]
    recovered: tuple[str, ...] = ()  # interrupted releases put right first (`release.place`)
    report_regenerated: bool = False  # the run's report files were missing and were written again
    tally: Tally | None = None  # with governance: who signed (the key's maintainer, or nobody yet)


@dataclass(frozen=True)
class _Inputs:
    """Everything a bundle is made of, gathered before anything is written."""

    evidence: gate.Evidence
    locks: dict[PyVersion, Lock]
    pylocks: dict[str, str]
    located: dict[PyVersion, dict[NormalizedName, LockedFile]]
    licences: dict[str, tuple[str, str] | None]
    previous: Path | None
    epoch: int
    report_regenerated: bool = False
    platform_locks: dict[shipping.Target, Lock] = field(default_factory=dict)  # every platform's, when named
    platform_pylocks: dict[shipping.Target, str] = field(default_factory=dict)
    platform_located: dict[shipping.Target, dict[NormalizedName, LockedFile]] = field(default_factory=dict)

    @property
    def date(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.epoch, tz=dt.UTC)


def cut(request: ReleaseRequest) -> Release:
    """Check the gate, then write the bundle and its tarball; a refused release writes nothing.

    The output folder is locked while a release works in it, and a release interrupted there
    before (killed between placing the folder and the tarball, say) is recovered first
    (`release.place`).
    """
    dist = request.distribution
    name = BundleLayout.name(dist.name, dist.version)
    out = request.out_dir.resolve()
    folder, tarball = out / name, out / f"{name}.tar.gz"
    recovered: list[str] = []
    if out.is_dir():
        with _hold(out):
            recovered += place.recover(out)
    _refuse_existing(request, folder, tarball)
    principal = _signer(request)
    inputs = _gather(request, out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with _hold(out):
            recovered += place.recover(out)  # a release killed here meanwhile
            _refuse_existing(request, folder, tarball)
            staging = place.stage(out, name)
            try:
                root = staging / name
                root.mkdir()
                wheels = _write_bundle(root, request, inputs, principal)
                listed, _ = files.walk(root)
                size = sum((root / f).stat().st_size for f in listed)
                digest = files.write_tarball(root, name, staging / tarball.name, inputs.epoch)
                place.place(staging, out, name)
            except BaseException:
                place.abandon(staging)
                raise
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    return Release(
        name=name,
        folder=folder,
        tarball=tarball,
        sha256=digest,
        files=len(listed),
        size=size,
        wheels=wheels,
        fingerprint=request.key.public.fingerprint if request.key else None,
        previous=inputs.previous.name if inputs.previous else None,
        evidence=inputs.evidence,
        pylocks=tuple(pylock_name(p) for p in inputs.locks),
        recovered=tuple(recovered),
        report_regenerated=inputs.report_regenerated,
        tally=_tally(folder, request.signers),
    )


def _signer(request: ReleaseRequest) -> str | None:
    """The principal the release key signs as (governance), checked before any work; a key that is
    no signer's, or that may not sign now, would add a signature that counts for nothing."""
    signers, key = request.signers, request.key
    if signers is None or key is None:
        return None
    signer = signers.holding(key.public)
    if signer is None:
        raise NotASigner(
            f"{key.source}: key {key.public.fingerprint} is not one of the signers ({', '.join(signers.principals)}) "
            f"of {request.distribution.where('governance.signers')}; sign with a maintainer's key, add this key's "
            "line to the signers file, or pass --unsigned and let the maintainers sign (`curator sign`)"
        )
    invalid = signer.invalid_at(dt.datetime.now(dt.UTC))
    if invalid is not None:
        raise NotASigner(f"{key.source}: {invalid[1]}, so its signature would count for nothing")
    return signer.principal


def _tally(folder: Path, signers: Signers | None) -> Tally | None:
    """Who signed the bundle just placed, against the manifest's signers."""
    if signers is None:
        return None
    presented, _ = signatures.presented(Folder(folder))  # read as verify and sign read them
    sums = (folder / files.SUMS).read_bytes()
    return governance.tally(sums, presented, signers, what=files.SUMS)


def _hold(out: Path) -> FolderLock:
    """The output folder, for this release alone."""
    return FolderLock.take(out, command="release", what=f"--out {out}")


def _refuse_existing(request: ReleaseRequest, folder: Path, tarball: Path) -> None:
    """Never silently over an existing release (or half of one): `--force` replaces it."""
    if request.force or not (os.path.lexists(folder) or os.path.lexists(tarball)):
        return
    dist = request.distribution
    if os.path.lexists(folder) != os.path.lexists(tarball):  # not left by this curator, which places both
        there, gone = (folder, tarball) if os.path.lexists(folder) else (tarball, folder)
        raise UsageError(f"{there} exists without {gone.name}, half a release; pass --force to replace it")
    raise UsageError(f"{folder} already exists; bump `version` in {dist.path}, or pass --force to replace it")


def _gather(request: ReleaseRequest, out: Path) -> _Inputs:
    """The gate's evidence, the shipped locks, uv's pylocks and files, licences, the previous release."""
    dist = request.distribution
    if not request.store_path.is_file():
        raise UsageError(f"{request.store_path}: no results store there; pass --store, or `curator run` first")
    with Store(request.store_path) as store:
        evidence = gate.check(store, request.run, dist)
        regenerated = _ensure_report(store, evidence, dist)
    locks = _shipped_locks(evidence, dist)
    resolver = Resolver(dist.index)
    made: dict[tuple[PyVersion, str, tuple[str, ...]], str] = {}

    def pylock(python: PyVersion, platform: str, lock: Lock) -> str:
        """uv's pylock of `lock`, once for each Python, platform and pins (the primary platform's
        locks are the default ones too)."""
        requirements = tuple(f"{p.name}=={p.version}" for p in lock.pins)
        if (key := (python, platform, requirements)) not in made:
            made[key] = resolver.pylock(list(requirements), request.finder.find(python), platform)
        return made[key]

    pylocks: dict[str, str] = {}
    located: dict[PyVersion, dict[NormalizedName, LockedFile]] = {}
    primary = dist.platforms.primary if dist.platforms else ""  # the default locks are its
    for python, lock in locks.items():
        pylocks[python] = pylock(python, primary, lock)
        located[python] = _check_pylock(python, pylocks[python], lock)
    cells = {target: cell.cell_id for target, cell in evidence.platform_baseline.items()}
    platform_locks = shipping.shipped(dist, evidence.platform_locks, cells)
    platform_pylocks: dict[shipping.Target, str] = {}
    platform_located: dict[shipping.Target, dict[NormalizedName, LockedFile]] = {}
    for target, lock in platform_locks.items():
        python, platform = target
        platform_pylocks[target] = pylock(python, platform, lock)
        platform_located[target] = _check_pylock(f"{python} on {platform}", platform_pylocks[target], lock)
    every = shipping.by_label(located, platform_located)
    every_lock = shipping.by_label(locks, platform_locks)
    return _Inputs(
        evidence=evidence,
        locks=locks,
        pylocks=pylocks,
        located=located,
        platform_locks=platform_locks,
        platform_pylocks=platform_pylocks,
        platform_located=platform_located,
        licences=_licences(every, every_lock, request.cache),
        previous=_previous(out, dist),
        epoch=request.epoch if request.epoch is not None else int(evidence.run.finished or evidence.run.started),
        report_regenerated=regenerated,
    )


def _ensure_report(store: Store, evidence: gate.Evidence, dist: Distribution) -> bool:
    """Write the gating run's report again from the store when its folder lacks any of it (a run
    killed between its last cell and its report, a file deleted since); whether it had to."""
    layout, run = evidence.layout, evidence.run
    if all(p.is_file() for p in (layout.report, layout.cells_csv, layout.run_json)) and layout.matrices.is_dir():
        return False
    try:
        with FolderLock.take(
            layout.root, command="release", run=run.id, what=f"the folder {layout.root} of run {run.id}"
        ):
            rerender(store, run.id, dist, today=dt.date.fromtimestamp(run.started), folder=layout.root)
    except OSError as exc:
        raise UsageError(
            f"{layout.root}: the report of run {run.id} is incomplete and cannot be written again there "
            f"({exc.strerror}); run `curator report {run.id} --store {store.path}` where it can, then release"
        ) from None
    return True


def _write_bundle(root: Path, request: ReleaseRequest, inputs: _Inputs, principal: str | None) -> int:
    """Every file of the bundle into `root`, SHA256SUMS and its signature last; how many wheels."""
    dist, evidence, locks = request.distribution, inputs.evidence, inputs.locks
    primary = dist.platforms.primary if dist.platforms else ""  # the default locks are its
    wheels = 0
    if request.wheelhouse:  # each platform's wheels too: a file is kept once, whichever locks name it
        located = shipping.by_label(inputs.located, inputs.platform_located)
        every = shipping.by_label(locks, inputs.platform_locks)
        wheels = wheelhouse.collect(located, every, BundleLayout(root).wheels)
    bundle = BundleLayout(root)
    made: dict[tuple[PyVersion, str, str], str] = {}

    def offline(python: PyVersion, platform: str, lock: Lock, shown: str) -> str:
        """The pylock naming every file by its path in wheels/ (installs offline from the bundle
        alone), once for each Python, platform and lock."""
        if (key := (python, platform, lock.key)) not in made:
            made[key] = wheelhouse.pylock(bundle.wheels, lock, request.finder.find(python), platform)
            _check_pylock(shown, made[key], lock)
        return made[key]

    _write(bundle.manifest, pinned_manifest(dist, evidence.run.id))
    for python, lock in locks.items():
        _write(bundle.lock(python), _lock_text(dist, python, lock, evidence))
        pylock = offline(python, primary, lock, python) if request.wheelhouse else inputs.pylocks[python]
        _write(bundle.pylock(python), pylock)
    for target, lock in inputs.platform_locks.items():
        cell = evidence.platform_baseline[target].cell_id
        _write(bundle.lock(*target), shipping.lock_text(dist, target, lock, cell, evidence.run.id))
        shown = f"{target[0]} on {target[1]}"
        pylock = offline(*target, lock, shown) if request.wheelhouse else inputs.platform_pylocks[target]
        _write(bundle.pylock(*target), pylock)
    document = sbom.build(
        distribution=dist.name,
        version=dist.version,
        locks=locks,
        licences=inputs.licences,
        roots=dist.package_names,
        date=inputs.date,
        platform_locks=inputs.platform_locks,
    )
    _write(bundle.sbom, document)
    _copy_report(evidence.layout, bundle.report)
    current = {p: lock.versions for p, lock in locks.items()}
    before = versions_of_bundle(inputs.previous) if inputs.previous is not None else {}
    notes = changes.render_changes(
        title=f"{dist.name} {dist.version}",
        signed_by=request.key.public.fingerprint if request.key else None,
        signers=request.signers.describe() if request.signers else None,
        evidence=evidence,
        previous=inputs.previous.name if inputs.previous else None,
        changes=changes.compare(before, current),
        current=current,
        manifest=frozenset(dist.package_names),
        date=inputs.date.date().isoformat(),
    )
    _write(bundle.changes, notes)
    record = _release_json(request, inputs, wheels=wheels)
    _write(bundle.release_json, json.dumps(record, indent=2, sort_keys=True) + "\n")
    if request.signers is not None:
        _write(bundle.allowed_signers, request.signers.render())
    elif request.key is not None:
        _write(root / files.PUBLIC_KEY, request.key.public.openssh() + "\n")
    sums = files.render_sums(root)
    _write(root / files.SUMS, sums)
    if request.key is not None and principal is not None:
        _write(bundle.signature(principal), signing.sign(sums.encode(), request.key))
    elif request.key is not None:
        _write(root / files.SIGNATURE, signing.sign(sums.encode(), request.key))
    return wheels


def pylock_name(python: str) -> str:
    """`pylock.py312.toml`: PEP 751 allows no dot inside the name part."""
    return BundleLayout(Path()).pylock(python).name


# ----------------------------------------------------------------------- the parts


def _shipped_locks(evidence: gate.Evidence, dist: Distribution) -> dict[PyVersion, Lock]:
    """Each Python's baseline lock (as the store holds it) without the test runner: what the
    distribution installs."""
    locks: dict[PyVersion, Lock] = {}
    for python in dist.python:
        lock = evidence.locks[python].closure(dist.package_names)
        missing = [f"{n}=={v}" for n, v in dist.blessed.items() if lock.versions.get(n) != v]
        if missing:
            raise GateNotMet(
                f"{evidence.baseline[python].cell_id} did not install {', '.join(missing)} "
                "(matrix.scope: involved?): its baseline did not test the distribution as it would ship"
            )
        locks[python] = lock
    return locks


def _check_pylock(python: str, text: str, lock: Lock) -> dict[NormalizedName, LockedFile]:
    """The files uv's pylock names, checked to be exactly the lock's packages and hashes."""
    found = pylock_files(text)
    if set(found) != set(lock.versions):
        odd = sorted(set(found) ^ set(lock.versions))
        raise ToolError(f"uv's pylock for Python {python} and the run's lock disagree on {', '.join(odd)}")
    for pin in lock.pins:
        sha = found[pin.name].sha256
        if sha is not None and sha not in pin.hashes:
            raise ToolError(
                f"{found[pin.name].url}: sha256 {sha} is not one the run's lock allows for {pin.name}=={pin.version}"
            )
    return found


def _licences(
    located: Mapping[str, Mapping[NormalizedName, LockedFile]], locks: Mapping[str, Lock], cache: Path
) -> dict[str, tuple[str, str] | None]:
    found: dict[str, tuple[str, str] | None] = {}
    for python, lock in locks.items():
        for pin in lock.pins:
            key = f"{pin.name}=={pin.version}"
            if found.get(key) is None:
                found[key] = sbom.licence(core_metadata.core_metadata(located[python][pin.name].url, cache))
    return found


def pinned_manifest(dist: Distribution, run_id: str) -> str:
    """The manifest as written, each package's `versions` reduced to its blessed one."""
    text = dist.path.read_bytes().decode("utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    edits: list[tuple[int, int, str]] = []
    _, packages = _entry(root, "packages")
    assert isinstance(packages, MappingNode)
    for key_node, value_node in packages.value:
        package = dist.package(str(key_node.value))
        owner, versions = key_node, value_node  # the shorthand `numpy: [...]`
        if isinstance(value_node, MappingNode):
            owner, versions = _entry(value_node, "versions")
        items = versions.value if isinstance(versions, SequenceNode) else [versions]
        spelled = next(
            (str(i.value) for i in items if isinstance(i, ScalarNode) and Version(str(i.value)) == package.blessed),
            str(package.blessed),
        )
        start, end = versions.start_mark.index, versions.end_mark.index
        if isinstance(versions, SequenceNode) and not versions.flow_style:  # a block list: `versions:` then `- …`
            start = text.index(":", owner.end_mark.index) + 1
            spelled_list = f' ["{spelled}"]'
        else:
            spelled_list = f'["{spelled}"]'
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        edits.append((start, end, spelled_list))
    matrix = _optional_entry(root, "matrix")
    exclude = _optional_entry(matrix[1], "exclude") if matrix is not None else None
    if exclude is not None:  # its patterns name candidates no longer listed; they shaped tests, not the release
        key_node, value_node = exclude
        start, end = value_node.start_mark.index, value_node.end_mark.index
        if isinstance(value_node, SequenceNode) and not value_node.flow_style:
            start = text.index(":", key_node.end_mark.index) + 1
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        edits.append((start, end, " [] # the run's exclude patterns; they name candidates the release does not list"))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    header = (
        f"# {dist.name} {dist.version} as released from run {run_id}: every package at its blessed version.\n"
        f"# The manifest as tested had sha256 {dist.sha256}; paths in it are relative to its folder.\n"
    )
    if dist.platforms is not None and "platforms.tested" not in dist.locations:  # the default: say which it was
        header += f"# platforms.tested was the releasing machine's: {', '.join(dist.platforms.tested)}\n"
    pinned = header + text
    parsed = manifest.parse(pinned.encode(), dist.path)
    if any(p.versions != (p.blessed,) or p.blessed != dist.blessed[p.name] for p in parsed.packages):
        raise ToolError(f"{dist.path}: could not reduce every package to its blessed version")  # pragma: no cover
    return pinned


def _optional_entry(node: Node | None, key: str) -> tuple[Node, Node] | None:
    """(key node, value node) of `key` in a mapping node, if it holds it."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key and isinstance(value_node, Node):
            return key_node, value_node
    return None


def _entry(node: Node | None, key: str) -> tuple[Node, Node]:
    """(key node, value node) of `key` in a mapping node known to hold it (the manifest parsed)."""
    assert isinstance(node, MappingNode)
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            assert isinstance(value_node, Node)
            return key_node, value_node
    raise AssertionError(key)  # pragma: no cover - the manifest was validated


def _lock_text(dist: Distribution, python: PyVersion, lock: Lock, evidence: gate.Evidence) -> str:
    return (
        f"# {dist.name} {dist.version} for Python {python}: pip install --require-hashes -r py{python}.txt\n"
        f"# the lock of cell {evidence.baseline[python].cell_id} of run {evidence.run.id}, "
        "without the test runner\n" + lock.text
    )


def _copy_report(run: RunLayout, target: Path) -> None:
    """The gating run's report: index.html (when there is one), cells.csv, run.json, matrices/ (when the
    run drew any: an empty folder is no file SHA256SUMS can list, and verify would call it extra)."""
    target.mkdir(parents=True)
    for source in (run.report, run.cells_csv, run.run_json):
        if source.is_file():
            shutil.copyfile(source, target / source.name)
    matrices = sorted(run.matrices.glob("*.csv")) if run.matrices.is_dir() else []
    for csv in matrices:
        (target / run.matrices.name).mkdir(exist_ok=True)
        shutil.copyfile(csv, target / run.matrices.name / csv.name)


def _previous(out: Path, dist: Distribution) -> Path | None:
    """The release of this distribution in `out` with the highest version below this one."""
    try:
        current = Version(dist.version)
    except InvalidVersion:
        return None
    best: tuple[Version, Path] | None = None
    for candidate in sorted(out.glob(f"{dist.name}-*")) if out.is_dir() else []:
        try:
            record = json.loads(BundleLayout(candidate).release_json.read_text())
            version = Version(str(record["version"]))
        except (OSError, ValueError, KeyError, InvalidVersion):
            continue
        if record.get("distribution") == dist.name and version < current and (best is None or version > best[0]):
            best = (version, candidate)
    return best[1] if best else None


def versions_of_bundle(root: Path) -> dict[PyVersion, dict[NormalizedName, Version]]:
    """Each Python's shipped versions, from a bundle's `locks/py<X.Y>.txt`."""
    bundle = BundleLayout(root)
    return {
        python: dict(parse_requirements(python, bundle.lock(python).read_text()).versions)
        for python in bundle.pythons()
    }


def _release_json(request: ReleaseRequest, inputs: _Inputs, *, wheels: int) -> dict[str, object]:
    dist, evidence, key = request.distribution, inputs.evidence, request.key
    signature: dict[str, object]
    if request.signers is not None:  # signed by the maintainers, each in signatures/ (cut with or without a key)
        signature = {
            "signed": True,
            "format": "sshsig",
            "namespace": signing.NAMESPACE,
            "file": signatures.member("<principal>"),
        }
    elif key is None:
        signature = {
            "signed": False,
            "note": "UNSIGNED: cut with --unsigned; SHA256SUMS shows the files are intact, not who made them",
        }
    else:
        signature = {
            "signed": True,
            "format": "sshsig",
            "namespace": signing.NAMESPACE,
            "file": files.SIGNATURE,
            "public_key_file": files.PUBLIC_KEY,
            "public_key": key.public.openssh(),
            "fingerprint": key.public.fingerprint,
            "identity": dist.name,
            "allowed_signers": key.public.allowed_signers(dist.name),
        }
    return {
        "distribution": dist.name,
        "version": dist.version,
        "date": inputs.date.isoformat(timespec="seconds"),
        "run": {
            "id": evidence.run.id,
            "strategy": evidence.run.strategy,
            "manifest_sha256": evidence.run.manifest_sha256,
        },
        "gate": {c.cell_id: dict(c.statuses) for c in evidence.baseline.values()},
        "pythons": {
            python: {
                "lock": BundleLayout(Path()).lock(python).as_posix(),
                "pylock": BundleLayout(Path()).pylock(python).as_posix(),
                "packages": {str(p.name): str(p.version) for p in lock.pins},
            }
            for python, lock in inputs.locks.items()
        },
        "blessed": list(dist.package_names),
        **({"platforms": shipping.record(evidence.platforms, inputs.platform_locks)} if dist.platforms else {}),
        "wheelhouse": {"files": wheels} if request.wheelhouse else None,
        "previous": inputs.previous.name if inputs.previous else None,
        "signature": signature,
        "governance": codec.to_json(signatures.GovernanceRecord.of(request.signers)) if request.signers else None,
        "tools": {
            "curator": __version__,
            "uv": _version("uv"),
            "cyclonedx-python-lib": _version("cyclonedx-python-lib"),
        },
    }


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "not installed"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
