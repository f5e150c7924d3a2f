"""Reading uv's output: pins, hashes, annotations, and the resolver's explanations."""

from __future__ import annotations

from packaging.version import Version

from curator.model.distribution import Index
from curator.resolve.lock import ROOT, explain, index_args, named_in, parse_requirements

OUTPUT = """\
cfx-base==2.0 \\
    --hash=sha256:f42cf675624c5f5898d74298b2d9a5363c6c5d7ea80aad281d593618ae5bb54e
    # via
    #   -r requirements.in
    #   cfx-left
cfx-left==1.0 \\
    --hash=sha256:0e5ce27c121c90428cb1288d89101b28ea2df6e7d6f8de258f5c47d010e8ea6c \\
    --hash=sha256:1e5ce27c121c90428cb1288d89101b28ea2df6e7d6f8de258f5c47d010e8ea6c
    # via -r requirements.in
"""


def test_pins_hashes_and_annotations() -> None:
    lock = parse_requirements("3.12", OUTPUT)
    base, left = lock.pins
    assert (base.name, base.version, base.required_by) == ("cfx-base", Version("2.0"), (ROOT, "cfx-left"))
    assert len(left.hashes) == 2
    assert lock.versions == {"cfx-base": Version("2.0"), "cfx-left": Version("1.0")}


def test_lock_key_ignores_formatting_but_not_content() -> None:
    lock = parse_requirements("3.12", OUTPUT)
    reformatted = parse_requirements("3.12", OUTPUT.replace("    # via -r requirements.in\n", ""))
    assert lock.key == reformatted.key
    assert lock.key != parse_requirements("3.11", OUTPUT).key
    assert lock.key != parse_requirements("3.12", OUTPUT.replace("f42c", "f42d")).key


def test_explanations_lose_their_prefixes() -> None:
    stderr = (
        "  × No solution found when resolving dependencies:\n"
        "  ╰─▶ Because all versions of cfx-capped depend on cfx-base<2 and you require cfx-capped==1.0, "
        "we can conclude that you require cfx-base<2.\n"
        "      And because you require cfx-base==2.0, we can conclude that your requirements are unsatisfiable.\n"
    )
    reason = explain(stderr)
    assert reason.startswith("Because all versions of cfx-capped depend on cfx-base<2")
    assert reason.endswith("your requirements are unsatisfiable.")
    assert "×" not in reason


def test_index_arguments() -> None:
    from pathlib import Path

    args = index_args(Index(url=None, find_links=(Path("/w"),), no_index=True, exclude_newer="2026-01-01"))
    assert args == ["--no-index", "--find-links", "/w", "--exclude-newer", "2026-01-01"]
    assert index_args(Index(url="https://mirror/simple")) == ["--default-index", "https://mirror/simple"]


def test_a_refusal_is_watched_for_the_packages_its_explanation_names() -> None:
    reason = (
        "Because flask==3.0.3 depends on jinja2>=3.1.2 and you require jinja2==2.11.3, we can conclude that "
        "your requirements are unsatisfiable. And because all versions of cfx_base.extra depend on "
        "markupsafe[i18n]<2.1, …"
    )
    assert named_in(reason) == {"flask", "jinja2", "cfx-base-extra", "markupsafe"}
