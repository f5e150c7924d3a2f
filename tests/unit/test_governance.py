"""Governance: an allowed_signers file read as ssh-keygen reads it, refused line by line where a count of
named maintainers cannot use it, and the tally of which distinct signers' signatures count.

(`tests/integration/test_governance.py` holds the same files and signatures against `ssh-keygen -Y verify`.)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from curator import manifest
from curator.cli import main
from curator.model import codec
from curator.model.errors import ManifestError, SignersError, UsageError
from curator.release import archive as files
from curator.release import governance, signing
from curator.release.governance import Presented, Signers, Why
from curator.release.signatures import GovernanceRecord

MESSAGE = b"0123  SHA256SUMS of a release\n"


def _key(name: str) -> signing.SigningKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return signing.load_signing_key(pem, name)


ALICE, BOB, CAROL, MALLORY = (_key(n) for n in ("alice", "bob", "carol", "mallory"))


def _line(key: signing.SigningKey) -> str:
    return key.public.openssh()


def _write(tmp_path: Path, text: str, name: str = "maintainers.allowed_signers") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _three(threshold: int = 2) -> Signers:
    text = "".join(f"{name} {_line(key)}\n" for name, key in (("alice", ALICE), ("bob", BOB), ("carol", CAROL)))
    return Signers(governance.parse(text.encode(), "maintainers"), threshold)


# ------------------------------------------------------------------------------------ reading


def test_a_maintainers_file_reads_as_ssh_keygen_reads_it(tmp_path: Path) -> None:
    blob = _line(BOB).split()[1]
    text = (
        "# the maintainers of pydata-core\n"
        "\n"
        f"alice@example.org {_line(ALICE)} alice's laptop\n"
        f'  "bob" NAMESPACES="curator,git",valid-before="20990101Z" ssh-ed25519\t{blob}\r\n'
        f'carol namespaces="*",valid-after="20200101" {_line(CAROL)}\n'
        "   # an indented comment\n"
    )
    signers = governance.read(_write(tmp_path, text))
    assert [s.principal for s in signers] == ["alice@example.org", "bob", "carol"]
    assert [s.line for s in signers] == [3, 4, 5]
    assert signers[1].namespaces == "curator,git" and signers[1].valid_before == "20990101Z"
    assert signers[2].valid_after == "20200101"
    assert signers[0].fingerprint == ALICE.public.fingerprint
    assert signers[1].render() == f'bob namespaces="curator,git",valid-before="20990101Z" ssh-ed25519 {blob}'
    again = Signers(governance.parse(Signers(signers, 2).render().encode(), "again"), 2)
    assert again == Signers(signers, 2)


RSA_BLOB = (
    generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    .decode()
    .split()[1]
)
A = _line(ALICE)
A_BLOB = A.split()[1]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("alice", "no key after the principal 'alice'"),
        (
            A,
            "the line starts with a key (ssh-ed25519), as a .pub file's line does; an allowed_signers line starts "
            "with the maintainer's name: `alice ssh-ed25519 AAAA…`",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key, not an allowed_signers file"),
        (f"alice ssh-ed2551 {A_BLOB}", "unknown key type 'ssh-ed2551'; did you mean 'ssh-ed25519'?"),
        (f"alice ssh-rsa {RSA_BLOB}", "key type 'ssh-rsa' is not supported: curator verifies ed25519 signatures only"),
        (f"alice sk-ssh-ed25519@openssh.com {A_BLOB}", "key type 'sk-ssh-ed25519@openssh.com' is not supported"),
        (f"alice ssh-ed25519-cert-v01@openssh.com {A_BLOB}", "is not supported"),
        (f"*@example.org {A}", "principal pattern '*@example.org': curator counts named maintainers"),
        (f"!bob {A}", "principal pattern '!bob'"),
        (f"alice,alice-work {A}", "principals alice, alice-work share one key: a key counts once"),
        (f"alice, {A}", "an empty principal"),
        (f"a/b {A}", "principal 'a/b' may hold only letters, digits and . _ + @ -"),
        (f".hidden {A}", "principal '.hidden' may hold only"),
        (f'"alice {A}', "a double quote is not closed"),
        (f"alice cert-authority {A}", "cert-authority is not supported"),
        (f'alice namespace="curator" {A}', "unknown option 'namespace=\"curator\"'; did you mean 'namespaces'?"),
        (f"alice namespaces=curator {A}", "option namespaces needs its value in double quotes, as ssh-keygen does"),
        (f'alice namespaces="git" {A}', 'namespaces="git" does not let in the namespace "curator"'),
        (f'alice namespaces="!curator,*" {A}', "does not let in the namespace"),
        (f'alice namespaces="curator",namespaces="git" {A}', "option namespaces appears twice"),
        (f'alice namespaces="curator",, {A}', "an empty option"),
        (f'alice valid-after="2020" {A}', 'valid-after="2020" is not a time ssh-keygen reads'),
        (f'alice valid-before="20261301" {A}', 'valid-before="20261301" is not a time'),
        (
            f'alice valid-after="20250101Z",valid-before="20240101Z" {A}',
            'valid-before="20240101Z" is not after valid-after="20250101Z"',
        ),
        (
            f'alice namespaces="curator" valid-after="20200101" {A}',
            "options are separated by commas, not spaces",
        ),
        ('alice namespaces="curator"', "no key after the options"),
        ("alice ssh-ed25519", "no key after 'ssh-ed25519'"),
        ("alice ssh-ed25519 !!!!", "the key of 'alice' is not valid base64"),
        (f"alice ssh-ed25519 {RSA_BLOB}", "the key of 'alice': the key is of type 'ssh-rsa', not ssh-ed25519"),
        (f"alice ssh-ed25519 {base64.b64encode(b'short').decode()}", "the key of 'alice': the key is truncated"),
    ],
)
def test_each_malformed_line_is_named_by_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = _write(tmp_path, f"# maintainers\nbob {_line(BOB)}\n{line}\n")
    with pytest.raises(SignersError) as caught:
        governance.read(path)
    assert str(caught.value).startswith(f"{path}:3: "), caught.value
    assert problem in str(caught.value)


def test_a_principal_twice_even_in_another_case_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, f"alice {_line(ALICE)}\nbob {_line(BOB)}\nAlice {_line(CAROL)}\n")
    with pytest.raises(SignersError, match=r":3: principal 'Alice' appears twice \(first on line 1, as 'alice'\)"):
        governance.read(path)


def test_one_key_under_two_principals_is_refused(tmp_path: Path) -> None:
    """The same key as `alice` and `bob` would let one person count twice."""
    path = _write(tmp_path, f"alice {_line(ALICE)}\n\nbob {_line(ALICE)} a copy\n")
    with pytest.raises(SignersError, match=r":3: 'bob' has the key of 'alice' \(line 1\): a key counts once"):
        governance.read(path)


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        (b"# nobody yet\n\n", 1, "no signers in it"),
        (b"\n\n\xff\xfe\n", 3, "not UTF-8 text"),
    ],
)
def test_a_file_with_no_signers_or_no_text_is_refused(tmp_path: Path, data: bytes, where: int, problem: str) -> None:
    path = tmp_path / "signers"
    path.write_bytes(data)
    with pytest.raises(SignersError, match=rf"signers:{where}: {problem}"):
        governance.read(path)


def test_a_missing_or_odd_signers_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such signers file"):
        governance.read(tmp_path / "absent")
    with pytest.raises(UsageError, match="cannot read the signers file: not a regular file"):
        governance.read(tmp_path)


def test_a_threshold_above_the_signers_names_where_it_was_said(tmp_path: Path) -> None:
    path = _write(tmp_path, f"alice {_line(ALICE)}\nbob {_line(BOB)}\n")
    assert governance.load(path, 2, threshold_from="--threshold").threshold == 2
    with pytest.raises(
        UsageError, match=r"^--threshold: threshold 3 is more than the 2 signer\(s\) of .* \(alice, bob\)"
    ):
        governance.load(path, 3, threshold_from="--threshold")


GOVERNED = """\
distribution: eco
version: "1.0"
python: ["3.12"]
packages:
  numpy: ["2.1.3"]
governance:
  signers: maintainers.allowed_signers
  threshold: {threshold}
"""


def test_the_manifest_names_its_signers_and_threshold(tmp_path: Path) -> None:
    _write(tmp_path, f"alice {_line(ALICE)}\nbob {_line(BOB)}\ncarol {_line(CAROL)}\n")
    path = _write(tmp_path, GOVERNED.format(threshold=2), "distribution.yaml")
    dist = manifest.load(path)
    assert dist.governance == manifest.Governance(tmp_path / "maintainers.allowed_signers", 2)
    signers = governance.of_distribution(dist)
    assert signers is not None and signers.describe() == "2 of alice, bob, carol"
    path.write_text(GOVERNED.format(threshold=4))
    with pytest.raises(UsageError, match=rf"^{path}:8:14: threshold 4 is more than the 3 signer\(s\)"):
        governance.of_distribution(manifest.load(path))


@pytest.mark.parametrize(
    ("governance_yaml", "problem"),
    [
        (
            "  signers: maintainers.allowed_signers\n  treshold: 2\n",
            "unknown key 'treshold' in governance; did you mean 'threshold'?",
        ),
        ("  signers: maintainers.allowed_signers\n", "governance is missing the required key 'threshold'"),
        (
            "  signers: maintainers.allowed_signers\n  threshold: 0\n",
            "governance.threshold must be a whole number of at least 1",
        ),
        ("  signers: maintainers.allowed_signers\n  threshold: two\n", "governance.threshold must be a whole number"),
        (
            "  signers: nobody.allowed_signers\n  threshold: 1\n",
            "governance.signers 'nobody.allowed_signers' is not a file",
        ),
        ("  signers: .\n  threshold: 1\n", "governance.signers '.' is not a file"),
    ],
)
def test_governance_mistakes_in_the_manifest_are_line_exact(tmp_path: Path, governance_yaml: str, problem: str) -> None:
    _write(tmp_path, f"alice {_line(ALICE)}\n")
    text = GOVERNED.split("governance:", maxsplit=1)[0] + "governance:\n" + governance_yaml
    path = _write(tmp_path, text, "distribution.yaml")
    with pytest.raises(ManifestError) as caught:
        manifest.load(path)
    assert problem in str(caught.value)
    assert caught.value.line >= 6


# ------------------------------------------------------------------------------------ the tally


def _sig(key: signing.SigningKey, message: bytes = MESSAGE, namespace: str = "curator") -> str:
    return signing.sign(message, key, namespace=namespace)


def test_one_of_three_at_threshold_two_is_one_short_and_names_who_is_missing() -> None:
    tally = governance.tally(MESSAGE, [Presented("signatures/alice.sig", _sig(ALICE), "alice")], _three())
    assert (tally.count, tally.needed, tally.met) == (1, 1, False)
    assert tally.missing == ("bob", "carol")
    assert tally.summary == "1 of 2 signatures: alice; 1 more needed from bob, carol"
    both = governance.tally(
        MESSAGE,
        [Presented("signatures/bob.sig", _sig(BOB), "bob"), Presented("signatures/alice.sig", _sig(ALICE), "alice")],
        _three(),
    )
    assert both.met and both.summary == "2 of 2 signatures: alice, bob" and both.missing == ("carol",)
    assert [c.fingerprint for c in both.signed] == [ALICE.public.fingerprint, BOB.public.fingerprint]
    assert governance.tally(MESSAGE, [], _three()).summary == "0 of 2 signatures; 2 more needed from alice, bob, carol"


@pytest.mark.parametrize(
    ("offered", "why", "reason"),
    [
        (
            Presented("signatures/mallory.sig", _sig(MALLORY), "mallory"),
            Why.OUTSIDER,
            "which is not one of the signers",
        ),
        (Presented("signatures/bob.sig", _sig(BOB, namespace="git"), "bob"), Why.NAMESPACE, "namespace 'git'"),
        (Presented("signatures/bob.sig", _sig(BOB, b"another SHA256SUMS\n"), "bob"), Why.MISMATCH, "does not match"),
        (
            Presented("signatures/bob.sig", _sig(ALICE), "bob"),
            Why.MISNAMED,
            "presented as 'bob''s but made by 'alice''s",
        ),
        (Presented("signatures/bob.sig", "-----BEGIN SSH SIGNATURE-----\nAAAA\n"), Why.UNREADABLE, "not a signature"),
        (Presented("were/alice.sig", _sig(ALICE)), Why.AGAIN, "alice counted already (signatures/alice.sig)"),
    ],
)
def test_a_signature_that_proves_nothing_counts_zero_and_says_why(offered: Presented, why: Why, reason: str) -> None:
    alice = Presented("signatures/alice.sig", _sig(ALICE), "alice")
    tally = governance.tally(MESSAGE, [alice, offered], _three(), what="SHA256SUMS")
    assert [c.principal for c in tally.signed] == ["alice"]
    assert tally.summary == "1 of 2 signatures: alice; 1 more needed from bob, carol"
    (uncounted,) = tally.uncounted
    assert uncounted.label == offered.label and uncounted.why is why
    assert reason in uncounted.reason


def test_a_key_counts_only_while_its_line_says_it_is_valid() -> None:
    lines = (
        f'alice valid-before="20300101Z" {_line(ALICE)}\n'
        f'bob valid-after="20270101Z" {_line(BOB)}\n'
        f'carol valid-after="20260101",valid-before="20260201" {_line(CAROL)}\n'
    )
    signers = Signers(governance.parse(lines.encode(), "f"), 1)
    offered = [Presented(f"{n}.sig", _sig(k)) for n, k in (("alice", ALICE), ("bob", BOB), ("carol", CAROL))]
    in_2026 = governance.tally(MESSAGE, offered, signers, at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert [c.principal for c in in_2026.signed] == ["alice"]
    assert {u.principal: u.why for u in in_2026.uncounted} == {"bob": Why.NOT_YET_VALID, "carol": Why.EXPIRED}
    in_2031 = governance.tally(MESSAGE, offered, signers, at=dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
    assert [c.principal for c in in_2031.signed] == ["bob"]


def test_more_signatures_than_needed_say_so() -> None:
    offered = [Presented(f"{n}.sig", _sig(k), n) for n, k in (("alice", ALICE), ("bob", BOB), ("carol", CAROL))]
    assert governance.tally(MESSAGE, offered, _three()).summary == "3 signatures (2 needed): alice, bob, carol"


@pytest.mark.parametrize(
    ("patterns", "matches"),
    [
        ("curator", True),
        ("git,curator", True),
        ("cur*", True),
        ("c?rator", True),
        ("*", True),
        ("!curator,*", False),
        ("*,!cur*", False),
        ("git", False),
        ("curator.example", False),
    ],
)
def test_namespace_pattern_lists_match_as_ssh_config_patterns(patterns: str, matches: bool) -> None:
    assert governance.match_pattern_list("curator", patterns) is matches


def test_times_are_ssh_keygens_utc_with_z_local_without() -> None:
    assert governance.instant("20260102Z") == dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    assert governance.instant("202601021530Z") == dt.datetime(2026, 1, 2, 15, 30, tzinfo=dt.UTC)
    assert governance.instant("20260102153045") == dt.datetime(2026, 1, 2, 15, 30, 45).astimezone()
    for bad in ("2026", "2026010", "20260102Z1", "２０２６０１０２"):
        with pytest.raises(ValueError, match=bad):
            governance.instant(bad)


# ------------------------------------------------------------------------------------ one-key bundles


def _single_key_bundle(folder: Path, key: signing.SigningKey) -> Path:
    """A small bundle cut without governance, signed by one key as SHA256SUMS.sig (as releases were)."""
    (folder / "locks").mkdir(parents=True)
    (folder / "locks" / "py3.12.txt").write_text("cfx-base==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    record = {"distribution": "eco", "version": "1.0", "signature": {"signed": True}}
    (folder / "release.json").write_text(json.dumps(record))
    (folder / files.PUBLIC_KEY).write_text(key.public.openssh() + "\n")
    (folder / files.SUMS).write_text(files.render_sums(folder))
    (folder / files.SIGNATURE).write_text(signing.sign((folder / files.SUMS).read_bytes(), key))
    return folder


def test_a_single_key_bundle_verifies_as_before_and_counts_against_signers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _single_key_bundle(tmp_path / "eco-1.0", ALICE)
    assert main(["verify", str(bundle)]) == 0
    assert "by the bundle's own key" in capsys.readouterr().out
    signers = _write(tmp_path, f"alice {_line(ALICE)}\nbob {_line(BOB)}\n")
    assert main(["verify", str(bundle), "--signers", str(signers)]) == 1  # a majority of the signers you trust
    assert "1 of 2 signatures: alice; 1 more needed from bob" in capsys.readouterr().err
    assert main(["verify", str(bundle), "--signers", str(signers), "--threshold", "1"]) == 0
    out = capsys.readouterr().out
    assert "signatures: 1 of 1 signature: alice" in out and "the signers you trust" in out
    assert main(["verify", str(bundle), "--signers", str(signers), "--threshold", "3"]) == 2
    err = capsys.readouterr().err
    assert "--threshold: threshold 3 is more than the 2 signer(s)" in err and "lower it, or add signers" in err
    assert main(["verify", str(bundle), "--threshold", "1"]) == 2
    assert "--threshold counts the signers of a signers file" in capsys.readouterr().err
    assert main(["verify", str(bundle), "--pubkey", str(signers), "--threshold", "1"]) == 2
    assert "--threshold counts the signers of --signers FILE, not one --pubkey" in capsys.readouterr().err
    only_bob = _write(tmp_path, f"bob {_line(BOB)}\n", "bob.allowed_signers")
    assert main(["verify", str(bundle), "--signers", str(only_bob)]) == 1
    assert "SHA256SUMS.sig: does not count: by key" in capsys.readouterr().err


def test_a_single_key_bundle_takes_no_signatures_folder_and_no_curator_sign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _single_key_bundle(tmp_path / "eco-1.0", ALICE)
    assert main(["sign", str(bundle), "--signature", str(bundle / files.SIGNATURE)]) == 2
    assert "was cut without governance: it names no signers" in capsys.readouterr().err
    (bundle / "signatures").mkdir()
    (bundle / "signatures" / "bob.sig").write_text(_sig(BOB, (bundle / files.SUMS).read_bytes()))
    assert main(["verify", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "signatures/bob.sig: extra (eco-1.0 was cut without governance" in err
    assert "signatures/: extra (a folder holding nothing SHA256SUMS lists)" in err


def test_a_recorded_threshold_out_of_range_is_a_problem_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A release.json made by hand (and SHA256SUMS made again) may record any threshold."""
    bundle = tmp_path / "eco-1.0"
    bundle.mkdir()
    signers = Signers(governance.parse(f"alice {_line(ALICE)}\n".encode(), "f"), 1)
    (bundle / "allowed_signers").write_text(signers.render())
    for threshold in (0, -1, 2):
        record = GovernanceRecord(threshold=threshold, signers=signers.signers)
        document = {"distribution": "eco", "version": "1.0", "governance": codec.to_json(record)}
        (bundle / "release.json").write_text(json.dumps(document))
        (bundle / files.SUMS).write_text(files.render_sums(bundle))
        (bundle / "signatures").mkdir(exist_ok=True)
        (bundle / "signatures" / "alice.sig").write_text(_sig(ALICE, (bundle / files.SUMS).read_bytes()))
        assert main(["verify", str(bundle)]) == 1
        err = capsys.readouterr().err
        assert f"signatures: {threshold} signatures needed (release.json), but the 1 signer(s)" in err, err
        assert "Traceback" not in err
