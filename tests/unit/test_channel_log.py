"""`log.jsonl`: canonical lines, the hash chain, signatures, and the replay into channel.json."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from curator.channel import log, trust
from curator.channel.records import Action, Entry, Signer
from curator.model.errors import NotASigner, ThresholdNotMet, UsageError
from curator.release import signing

SUMS = ["a" * 64, "b" * 64, "c" * 64]


def _key(name: str) -> signing.SigningKey:
    return signing.SigningKey(Ed25519PrivateKey.generate(), name)


def _history(*steps: tuple[Action, dict[str, object]], keys: tuple[signing.SigningKey, ...] = ()) -> log.History:
    history = log.replay([])
    for number, (action, fields) in enumerate(steps):
        entry = history.next_entry(action, "eco", f"2026-11-2{number}T10:00:00Z", **fields)
        signers = (*(history.record.signers if history.record else ()), *(entry.signers or ()))
        history = history.append(log.sign(entry, keys, signers))
    return history


def _publish(version: str, sums: str) -> tuple[Action, dict[str, object]]:
    return Action.PUBLISH, {"version": version, "sums_sha256": sums, "pythons": ("3.12",), "platforms": ("any",)}


def _three(keys: tuple[signing.SigningKey, ...] = ()) -> log.History:
    return _history(
        _publish("1.0", SUMS[0]),
        _publish("1.1", SUMS[1]),
        (Action.YANK, {"version": "1.1", "reason": "broken"}),
        keys=keys,
    )


def test_a_log_replays_into_what_channel_json_says() -> None:
    history = _three()
    assert history.problems == ()
    record = history.record
    assert record is not None
    assert [(r.version, r.yanked) for r in record.releases] == [("1.1", "broken"), ("1.0", None)]
    assert record.stable == "1.0"
    assert record.head == hashlib.sha256(history.lines[-1].raw).hexdigest()
    assert history.published_at == {"1.0": 1, "1.1": 2}


def test_each_line_is_canonical_json_holding_the_hash_of_the_one_before() -> None:
    raws = [line.raw for line in _three().lines]
    for before, raw in itertools.pairwise(raws):
        data = json.loads(raw)
        assert raw == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        assert data["previous"] == hashlib.sha256(before).hexdigest()
    assert "previous" not in json.loads(raws[0])  # nothing before the first
    assert "reason" not in json.loads(raws[0]) and "sums_sha256" not in json.loads(raws[2])  # no nulls


def test_the_content_reads_back_line_for_line() -> None:
    history = _three()
    again = log.replay(history.content().split(b"\n")[:-1])
    assert again.record == history.record and again.problems == ()


def _raws() -> list[bytes]:
    return [line.raw for line in _three().lines]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: [r[0].replace(b"1.0", b"0.9"), r[1], r[2]], "log.jsonl:2 (publish 1.1): its `previous` is not"),
        (lambda r: [r[0], r[2]], "log.jsonl:2 (yank 1.1): its seq is 2, not 1"),
        (lambda r: [r[1], r[0], r[2]], "log.jsonl:1 (publish 1.1): its seq is 1, not 0"),
        (lambda r: [r[0], r[1], r[2].replace(b'":"', b'": "', 1)], "log.jsonl:3: not in canonical form"),
        (lambda r: [r[0], r[1], b"{not json"], "log.jsonl:3: not a JSON object"),
        (lambda r: [r[0], r[1], b"[1, 2]"], "log.jsonl:3: not a JSON object"),
        (lambda r: [r[0], r[1], r[2].replace(b'"seq":2', b'"seq":"2"')], "log.jsonl:3.seq: '2' is not an integer"),
    ],
)
def test_a_changed_dropped_or_moved_line_is_named(edit: object, problem: str) -> None:
    history = log.replay(edit(_raws()))  # type: ignore[operator]
    assert any(p.startswith(problem) for p in history.problems), history.problems


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ((_publish("1.0", SUMS[0]), _publish("1.0", SUMS[1])), "publishes 1.0 again"),
        ((_publish("1.0", SUMS[0]), _publish("1.0.0", SUMS[1])), "publishes 1.0.0 again"),
        ((_publish("1.0", SUMS[0]), (Action.YANK, {"version": "2.0", "reason": "x"})), "yanks '2.0', which no"),
        ((_publish("1.0", SUMS[0]), (Action.YANK, {"version": "1.0"})), "yanks without a reason"),
        ((_publish("one", SUMS[0]),), "publishes version 'one', which is not a PEP 440 version"),
        ((_publish("1.0", "nope"),), "has no sums_sha256"),
        (((Action.SIGNERS, {"signers": (), "threshold": 1}),), "installs no signers"),
    ],
)
def test_an_action_that_makes_no_sense_where_it_stands_is_named(
    steps: tuple[tuple[Action, dict[str, object]], ...], problem: str
) -> None:
    history = _history(*steps)
    assert any(problem in p for p in history.problems), history.problems


def test_another_distribution_in_one_log_is_named() -> None:
    history = _history(_publish("1.0", SUMS[0]))
    entry = Entry(seq=1, action=Action.YANK, distribution="other", time="2026-11-21T10:00:00Z",
                  previous=history.head, version="1.0", reason="x")  # fmt: skip
    assert "log.jsonl:2 (yank 1.0): for distribution 'other', in a channel of 'eco'" in history.append(entry).problems


def test_signatures_sign_the_entry_without_them_and_pin_its_place() -> None:
    first, second = _key("first"), _key("second")
    history = _three(keys=(first, second))
    assert history.problems == ()
    data = json.loads(history.lines[1].raw)
    assert sorted(data["signatures"]) == sorted([first.public.fingerprint, second.public.fingerprint])
    message = log.signed_bytes(data)
    assert b"signatures" not in message and b'"previous":"' in message
    signing.verify(message, data["signatures"][first.public.fingerprint], first.public)


def test_a_bad_signature_is_named() -> None:
    key, outsider = _key("key"), _key("outsider")
    raws = [line.raw for line in _three(keys=(key,)).lines]
    data = json.loads(raws[2])
    data["reason"] = "not broken after all"  # the entry changed after signing
    edited = log.canonical(data)
    history = log.replay([raws[0], raws[1], edited])
    assert "log.jsonl:3 (yank 1.1): the signature of" in history.problems[0]
    assert "it was changed after signing" in history.problems[0]
    # a signature filed under somebody else's fingerprint
    data = json.loads(raws[2])
    data["signatures"] = {outsider.public.fingerprint: data["signatures"][key.public.fingerprint]}
    history = log.replay([raws[0], raws[1], log.canonical(data)])
    assert f"is by {key.public.fingerprint}, not a key of '{outsider.public.fingerprint}'" in history.problems[0]


def test_signers_in_force_sign_under_their_principal() -> None:
    alice, bob = _key("alice"), _key("bob")
    signers = (Signer("alice", alice.public.openssh()), Signer("bob", bob.public.openssh()))
    history = _history(
        (Action.SIGNERS, {"signers": signers, "threshold": 2}),
        _publish("1.0", SUMS[0]),
        keys=(alice, bob),
    )
    assert history.problems == ()
    assert history.record is not None and (history.record.threshold, history.record.signers) == (2, signers)
    assert sorted(json.loads(history.lines[1].raw)["signatures"]) == ["alice", "bob"]
    # bob's signature filed as alice's does not count as hers
    data = json.loads(history.lines[1].raw)
    data["signatures"] = {"alice": data["signatures"]["bob"]}
    again = log.replay([history.lines[0].raw, log.canonical(data)])
    assert again.problems == (
        "log.jsonl:2 (publish 1.0): 0 of 2 signatures; 2 more needed from alice, bob (the signers in force)",
        "log.jsonl:2 (publish 1.0): the signature of 'alice' counts for nothing: presented as 'alice''s but made "
        "by 'bob''s key",
    )


# ------------------------------------------------------------------------------- governance

ALICE, BOB, CAROL, DAVE, MALLORY = (_key(name) for name in ("alice", "bob", "carol", "dave", "mallory"))


def _set(*keys: signing.SigningKey) -> tuple[Signer, ...]:
    return tuple(Signer(key.source, key.public.openssh()) for key in keys)


def _governed(*steps: tuple[Action, dict[str, object], tuple[signing.SigningKey, ...]]) -> log.History:
    """A log of `steps`, each signed by its own keys (under their principals in the sets they touch)."""
    history = log.replay([])
    for number, (action, fields, keys) in enumerate(steps):
        entry = history.next_entry(action, "eco", f"2026-11-2{number}T10:00:00Z", **fields)
        signers = (*(history.record.signers if history.record else ()), *(entry.signers or ()))
        history = history.append(log.sign(entry, keys, signers))
    return history


def _genesis(*keys: signing.SigningKey) -> tuple[Action, dict[str, object], tuple[signing.SigningKey, ...]]:
    return Action.SIGNERS, {"signers": _set(ALICE, BOB, CAROL), "threshold": 2}, keys


def _signed(
    step: tuple[Action, dict[str, object]], *keys: signing.SigningKey
) -> tuple[Action, dict[str, object], tuple[signing.SigningKey, ...]]:
    return (*step, keys)


def test_each_entry_needs_the_threshold_of_the_set_then_in_force() -> None:
    history = _governed(
        _genesis(ALICE, BOB),
        _signed(_publish("1.0", SUMS[0]), ALICE, CAROL),
        _signed((Action.YANK, {"version": "1.0", "reason": "broken"}), BOB, CAROL, ALICE),
    )
    assert history.problems == ()
    counts = [[(a.signers, a.tally.count, a.tally.threshold) for a in line.approvals] for line in history.lines]
    assert counts == [[("installed", 2, 2)], [("in-force", 2, 2)], [("in-force", 3, 2)]]
    assert history.in_force is not None and history.in_force.describe() == "2 of alice, bob, carol"
    assert [(i.line, i.threshold) for i in history.installed] == [(1, 2)]


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (
            (_genesis(ALICE),),
            "log.jsonl:1 (signers): 1 of 2 signatures: alice; 1 more needed from bob, carol (the signers it installs)",
        ),
        (
            (_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]), CAROL)),
            "log.jsonl:2 (publish 1.0): 1 of 2 signatures: carol; 1 more needed from alice, bob (the signers in force)",
        ),
        (
            (_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]))),
            "log.jsonl:2 (publish 1.0): 0 of 2 signatures; 2 more needed from alice, bob, carol (the signers in force)",
        ),
        (
            (_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]), ALICE, ALICE)),
            "log.jsonl:2 (publish 1.0): 1 of 2 signatures: alice",
        ),
        (
            (_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]), ALICE, MALLORY)),
            "log.jsonl:2 (publish 1.0): 1 of 2 signatures: alice",
        ),
        # an outsider's signature beside enough good ones: curator never writes one, so someone added it
        (
            (_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]), ALICE, BOB, MALLORY)),
            f"log.jsonl:2 (publish 1.0): the signature of '{MALLORY.public.fingerprint}' counts for nothing: by key "
            f"{MALLORY.public.fingerprint}, which is not one of the signers",
        ),
        # a rotation signed by the new set only, or by the old set only
        (
            (_genesis(ALICE, BOB), (Action.SIGNERS, {"signers": _set(DAVE, MALLORY), "threshold": 2}, (DAVE, MALLORY))),
            "log.jsonl:2 (signers): 0 of 2 signatures; 2 more needed from alice, bob, carol (the signers it replaces)",
        ),
        (
            (_genesis(ALICE, BOB), (Action.SIGNERS, {"signers": _set(ALICE, DAVE), "threshold": 2}, (ALICE, BOB))),
            "log.jsonl:2 (signers): 1 of 2 signatures: alice; 1 more needed from dave (the signers it installs)",
        ),
        # after a rotation, a retired signer is an outsider
        (
            (
                _genesis(ALICE, BOB),
                (Action.SIGNERS, {"signers": _set(BOB, CAROL, DAVE), "threshold": 2}, (BOB, CAROL)),
                _signed(_publish("1.0", SUMS[0]), ALICE, BOB),
            ),
            "log.jsonl:3 (publish 1.0): 1 of 2 signatures: bob; 1 more needed from carol, dave (the signers in force)",
        ),
    ],
)
def test_an_entry_short_of_its_threshold_is_named(
    steps: tuple[tuple[Action, dict[str, object], tuple[signing.SigningKey, ...]], ...], problem: str
) -> None:
    history = _governed(*steps)
    assert any(p.startswith(problem) for p in history.problems), history.problems


def test_one_signature_filed_twice_counts_once() -> None:
    history = _governed(_genesis(ALICE, BOB), _signed(_publish("1.0", SUMS[0]), ALICE))
    data = json.loads(history.lines[1].raw)
    mine = data["signatures"]["alice"]
    for twice in ({"alice": mine, "bob": mine}, {"alice": mine, ALICE.public.fingerprint: mine}):
        data["signatures"] = twice
        again = log.replay([history.lines[0].raw, log.canonical(data)])
        assert again.problems[0].endswith(
            "1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)"
        )
        assert "made by 'alice''s key" in again.problems[1]


def test_a_rotation_counts_each_signature_for_the_set_whose_key_made_it() -> None:
    """alice's key changes: her old key counts for the old set, her new one for the new set."""
    new_alice = signing.SigningKey(_key("x").key, "alice")
    rotated = (Signer("alice", new_alice.public.openssh()), *_set(BOB, CAROL))
    history = _governed(
        _genesis(ALICE, BOB),
        (Action.SIGNERS, {"signers": rotated, "threshold": 2}, (BOB, CAROL)),
        _signed(_publish("1.0", SUMS[0]), new_alice, BOB),
    )
    assert history.problems == ()
    stale = _governed(
        _genesis(ALICE, BOB),
        (Action.SIGNERS, {"signers": rotated, "threshold": 2}, (BOB, CAROL)),
        _signed(_publish("1.0", SUMS[0]), ALICE, BOB),
    )
    assert stale.problems[0].startswith("log.jsonl:3 (publish 1.0): 1 of 2 signatures: bob")


@pytest.mark.parametrize(
    ("signers", "threshold", "problem"),
    [
        (_set(ALICE, BOB), 3, "sets threshold 3 for 2 signer(s)"),
        (_set(ALICE, BOB), 0, "sets threshold 0 for 2 signer(s)"),
        (
            (*_set(ALICE, BOB), Signer("alice", CAROL.public.openssh())),
            1,
            "its signer 3: principal 'alice' appears twice",
        ),
        ((*_set(ALICE), Signer("bob", ALICE.public.openssh())), 1, "its signer 2: 'bob' has the key of 'alice'"),
        ((Signer("a*", ALICE.public.openssh()),), 1, "its signer 1: principal pattern 'a*'"),
        ((Signer("alice", "ssh-rsa AAAAB3NzaC1yc2E"),), 1, "its signer 1: key type 'ssh-rsa' is not supported"),
        ((Signer("alice", f"{ALICE.public.openssh()} laptop"),), 1, "its signer 1: the key is not written as"),
    ],
)
def test_a_signer_set_that_cannot_be_one_is_named(signers: tuple[Signer, ...], threshold: int, problem: str) -> None:
    history = _governed((Action.SIGNERS, {"signers": signers, "threshold": threshold}, ()))
    assert any(problem in p for p in history.problems), history.problems
    assert history.in_force is None  # not installed


def test_two_keys_signing_as_one_principal_are_refused_before_anything_is_signed() -> None:
    """alice's old key and her new one, both given to sign her rotation: one entry, one signature each."""
    new_alice = signing.SigningKey(_key("x").key, "alice-new.key")
    old = trust.signer_set(_set(ALICE, BOB, CAROL), 2)
    new = trust.signer_set((Signer("alice", new_alice.public.openssh()), *_set(BOB, CAROL)), 2)
    assert old is not None and new is not None
    sets = trust.required(old, Action.SIGNERS, new)
    with pytest.raises(UsageError, match=re.escape("--key alice-new.key and --key alice both sign as 'alice'")):
        trust.approve((ALICE, new_alice, BOB), sets, command="signers", channel=Path("eco"))
    for keys, short in (((ALICE, BOB), "installs"), ((new_alice, BOB), "replaces")):  # each key counts in its set
        with pytest.raises(ThresholdNotMet, match=rf"1 of 2 signatures: bob; .* \(the signers it {short}\)"):
            trust.approve(keys, sets, command="signers", channel=Path("eco"))
    approvals = trust.approve((ALICE, BOB, CAROL), sets, command="signers", channel=Path("eco"))
    assert [a.said for a in approvals] == [
        "3 signatures (2 needed): alice, bob, carol (the signers it replaces)",
        "2 of 2 signatures: bob, carol (the signers it installs)",
    ]


def test_keys_are_judged_as_their_signatures_would_be() -> None:
    in_force = trust.signer_set(_set(ALICE, BOB, CAROL), 2)
    assert in_force is not None
    sets = trust.required(in_force, Action.PUBLISH, None)
    with pytest.raises(ThresholdNotMet) as short:
        trust.approve((ALICE, ALICE), sets, command="publish", channel=Path("eco"))
    assert short.value.shortfall == ("1 of 2 signatures: alice; 1 more needed from bob, carol (the signers in force)",)
    with pytest.raises(NotASigner, match=r"--key mallory \(SHA256:.*\) is no signer of eco \(the signers in force: "):
        trust.approve((ALICE, BOB, MALLORY), sets, command="publish", channel=Path("eco"))
    (approval,) = trust.approve((CAROL, ALICE), sets, command="publish", channel=Path("eco"))
    assert approval.said == "2 of 2 signatures: alice, carol (the signers in force)"
    assert (
        trust.approve((MALLORY,), trust.required(None, Action.PUBLISH, None), command="publish", channel=Path("eco"))
        == ()
    )
