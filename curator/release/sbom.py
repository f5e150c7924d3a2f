"""The bundle's CycloneDX SBOM (JSON, spec 1.6), built with CycloneDX's own Python library.

One component per shipped `name==version` (on any Python): its purl, every sha256 its lock
allows, its licence from the distribution's core metadata, the Pythons that ship it, and its
dependencies as the locks record them. The serial number and timestamp derive from the
release, so the same release gives the same file.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import AttachedText, HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseAcknowledgement
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.metadata import Metadata
from packaging.utils import NormalizedName

from curator import __version__
from curator.model.ids import Platform, PyVersion
from curator.resolve.lock import ROOT, Lock

_SHORT = 120  # a License field longer than this (or on several lines) is a licence text, not a name


def licence(metadata: Metadata | None) -> tuple[str, str] | None:
    """What a distribution declares: ("expression", …), ("name", …), ("text", …) or None.

    License-Expression first; then License when it is a short name rather than a whole
    licence text; then the `License ::` classifiers; then License's full text.
    """
    if metadata is None:
        return None
    if metadata.license_expression:
        return "expression", str(metadata.license_expression)
    text = (metadata.license or "").strip()
    if text and "\n" not in text and len(text) <= _SHORT and text.upper() not in ("UNKNOWN", "NONE"):
        return "name", text
    classifiers = [c.split("::")[-1].strip() for c in metadata.classifiers or [] if c.startswith("License ::")]
    classifiers = [c for c in classifiers if c and c != "OSI Approved"]
    if classifiers:
        return "name", " / ".join(classifiers)
    if text:
        return "text", text
    return None


def _licenses(declared: tuple[str, str] | None) -> list[License]:
    if declared is None:
        return []
    kind, value = declared
    factory = LicenseFactory()
    ack = LicenseAcknowledgement.DECLARED
    match kind:
        case "expression":
            return [factory.make_from_string(value, license_acknowledgement=ack)]
        case "name":
            return [
                factory.make_from_string(part.strip(), license_acknowledgement=ack)
                for part in value.split(" / ")
                if part.strip()
            ]
        case _:
            first = value.splitlines()[0].strip()[:80] or "declared licence text"
            return [DisjunctiveLicense(name=first, text=AttachedText(content=value), acknowledgement=ack)]


def build(
    *,
    distribution: str,
    version: str,
    locks: Mapping[PyVersion, Lock],
    licences: Mapping[str, tuple[str, str] | None],
    roots: Sequence[str],
    date: dt.datetime,
    platform_locks: Mapping[tuple[PyVersion, Platform], Lock] | None = None,
) -> str:
    """The SBOM as JSON text; `licences` maps `name==version` to what `licence()` found.

    With `platform_locks` (a manifest that names platforms), every platform's components are in it
    too, each with the hashes of every platform's files and a `curator:platform` property naming the
    platforms whose locks hold it (a Windows-only dependency names only Windows)."""
    ref = f"{distribution}=={version}"
    root = Component(type=ComponentType.APPLICATION, name=distribution, version=version, bom_ref=ref)
    pythons: dict[str, list[str]] = {}
    platforms: dict[str, set[str]] = {}
    hashes: dict[str, set[str]] = {}
    requires: dict[str, set[str]] = {}
    every: list[tuple[PyVersion, Platform | None, Lock]] = [(p, None, lock) for p, lock in locks.items()]
    every += [(python, platform, lock) for (python, platform), lock in (platform_locks or {}).items()]
    for python, platform, lock in every:
        by_name = {pin.name: f"{pin.name}=={pin.version}" for pin in lock.pins}
        for pin in lock.pins:
            key = by_name[pin.name]
            if python not in pythons.setdefault(key, []):
                pythons[key].append(python)
            if platform is not None:
                platforms.setdefault(key, set()).add(platform)
            hashes.setdefault(key, set()).update(pin.hashes)
            requires.setdefault(key, set())
            for parent in pin.required_by:
                requirer = by_name.get(NormalizedName(parent)) if parent != ROOT else None
                if requirer is not None:
                    requires.setdefault(requirer, set()).add(key)
    components: dict[str, Component] = {}
    for key in sorted(pythons):
        name, _, pinned = key.partition("==")
        components[key] = Component(
            type=ComponentType.LIBRARY,
            name=name,
            version=pinned,
            bom_ref=key,
            purl=PackageURL(type="pypi", name=name, version=pinned),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=h) for h in sorted(hashes[key])],
            licenses=_licenses(licences.get(key)),
            properties=[Property(name="curator:python", value=" ".join(pythons[key]))]
            + ([Property(name="curator:platform", value=" ".join(sorted(platforms[key])))] if key in platforms else []),
        )
    metadata = BomMetaData(component=root, timestamp=date)
    metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="curator", version=__version__, bom_ref="curator")
    )
    bom = Bom(
        serial_number=uuid.uuid5(
            uuid.NAMESPACE_URL, f"curator:{ref}:" + " ".join(sorted(set().union(*hashes.values())))
        ),
        metadata=metadata,
        components=components.values(),
    )
    top = {f"{n}=={lock.versions[n]}" for _, _, lock in every for n in lock.versions if n in set(roots)}
    bom.register_dependency(root, [components[k] for k in sorted(top)])
    for key, component in components.items():
        bom.register_dependency(component, [components[k] for k in sorted(requires[key])])
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
