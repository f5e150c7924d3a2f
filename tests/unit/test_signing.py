"""SSH signatures: byte-compatible with `ssh-keygen -Y sign`, and every way a signature can be wrong."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from curator.model.errors import UsageError
from curator.release import signing

# A throwaway key made with `ssh-keygen -t ed25519 -N '' -C "test key"`, and what OpenSSH 9.2 made of it:
# `ssh-keygen -Y sign -f KEY -n curator MESSAGE` and `ssh-keygen -lf KEY.pub`.
PRIVATE = b"""-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDz79QZD6vWXQX9PNHpskEZHaVOx30+uaVeyhAUb+CWQAAAAJB1qKmPdaip
jwAAAAtzc2gtZWQyNTUxOQAAACDz79QZD6vWXQX9PNHpskEZHaVOx30+uaVeyhAUb+CWQA
AAAEBdFHntVIvdy9rHMZFv0jCKUJiqpNPDRB4+/PpVZxf4APPv1BkPq9ZdBf080emyQRkd
pU7HfT65pV7KEBRv4JZAAAAACHRlc3Qga2V5AQIDBAU=
-----END OPENSSH PRIVATE KEY-----
"""
PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPv1BkPq9ZdBf080emyQRkdpU7HfT65pV7KEBRv4JZA test key\n"
FINGERPRINT = "SHA256:58uwsO8rXpcYpdbRTYOBkbpfox7wIN16d6BLFAXXH4g"
# `ssh-keygen -t ed25519 -N secret`
ENCRYPTED = b"""-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABAgFaYMyV
qyH0PJqS3vSUvzAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIB/0C4MLfANxn8/U
qYxqykvdmkL83Nij9tQQePK/UVLUAAAAkBPvxVOfibD88ET+hFtWbI4YSQIIGFKwDWhtFt
XjGQob+ErSvTgbZEEEECUTIqL/wzWIAcUynAQEj4Px+VreVppjkZ5IFHcT24JPJ8coFkt8
GNs/j1u2L+qemElhYzTQSNANW4+iPtFcZKU3T/3FNqN39Pawdo3kFvoWIJA8aHJBT51myC
tMq0z6zFnI+Wesdg==
-----END OPENSSH PRIVATE KEY-----
"""
MESSAGE = b"hello\nworld\n"
SSH_KEYGEN_SIGNATURE = """-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg8+/UGQ+r1l0F/TzR6bJBGR2lTs
d9PrmlXsoQFG/glkAAAAAHY3VyYXRvcgAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQy
NTUxOQAAAEB2rjMez4odVgZmjlpkeYzFFLPvHg0WUkuvqcNp1t0r/E+sJiVIIrDEBhDbuM
pcpjHbco0JPTThHCpUFS8pHNgE
-----END SSH SIGNATURE-----
"""


def _other_key() -> signing.SigningKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return signing.load_signing_key(pem, "other")


def test_signature_is_byte_for_byte_what_ssh_keygen_makes() -> None:
    key = signing.load_signing_key(PRIVATE, "test key")
    assert signing.sign(MESSAGE, key) == SSH_KEYGEN_SIGNATURE  # ed25519 is deterministic
    assert key.public.fingerprint == FINGERPRINT


def test_ssh_keygen_signature_verifies_with_the_public_key_file() -> None:
    public = signing.load_public_key(PUBLIC, "test.pub")
    assert public.fingerprint == FINGERPRINT and public.comment == "test key"
    signing.verify(MESSAGE, SSH_KEYGEN_SIGNATURE, public)  # no exception: good
    assert signing.signer(SSH_KEYGEN_SIGNATURE).fingerprint == FINGERPRINT


def test_allowed_signers_line_names_the_namespace() -> None:
    public = signing.load_public_key(PUBLIC, "test.pub")
    line = public.allowed_signers("pydata-core")
    assert line.startswith('pydata-core namespaces="curator" ssh-ed25519 AAAA')
    assert signing.load_public_key(line, "allowed_signers").fingerprint == FINGERPRINT


@pytest.mark.parametrize(
    ("message", "namespace", "problem"),
    [
        (MESSAGE + b"!", "curator", "changed after signing"),
        (MESSAGE, "git", "namespace 'curator', not 'git'"),
    ],
)
def test_a_wrong_message_or_namespace_is_refused(message: bytes, namespace: str, problem: str) -> None:
    public = signing.load_public_key(PUBLIC, "test.pub")
    with pytest.raises(signing.BadSignature, match=problem):
        signing.verify(message, SSH_KEYGEN_SIGNATURE, public, namespace=namespace)


def test_a_signature_by_another_key_names_both_keys() -> None:
    other = _other_key()
    armored = signing.sign(MESSAGE, other)
    trusted = signing.load_public_key(PUBLIC, "test.pub")
    with pytest.raises(signing.BadSignature) as caught:
        signing.verify(MESSAGE, armored, trusted)
    assert other.public.fingerprint in str(caught.value) and FINGERPRINT in str(caught.value)


def test_a_forged_key_field_does_not_help() -> None:
    """Swapping the embedded key for the trusted one leaves a signature the trusted key did not make."""
    other = _other_key()
    trusted = signing.load_public_key(PUBLIC, "test.pub")
    body = "".join(signing.sign(MESSAGE, other).splitlines()[1:-1])
    import base64

    blob = base64.b64decode(body).replace(other.public.blob, trusted.blob)
    forged = "-----BEGIN SSH SIGNATURE-----\n" + base64.b64encode(blob).decode() + "\n-----END SSH SIGNATURE-----\n"
    with pytest.raises(signing.BadSignature, match="changed after signing"):
        signing.verify(MESSAGE, forged, trusted)


@pytest.mark.parametrize("garbage", ["", "hello", "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"])
def test_garbage_is_a_bad_signature_not_a_crash(garbage: str) -> None:
    with pytest.raises(signing.BadSignature):
        signing.verify(MESSAGE, garbage, signing.load_public_key(PUBLIC, "test.pub"))


def test_only_ed25519_openssh_keys_are_accepted() -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    with pytest.raises(UsageError, match="ed25519 keys only"):
        signing.load_signing_key(rsa, "rsa.key")
    with pytest.raises(UsageError, match="not an OpenSSH private key"):
        signing.load_signing_key(b"hello", "notes.txt")
    with pytest.raises(UsageError, match="no ssh-ed25519 public key"):
        signing.load_public_key("ssh-rsa AAAAB3Nza", "id_rsa.pub")


def test_an_encrypted_key_asks_for_its_passphrase() -> None:
    assert signing.key_needs_passphrase(ENCRYPTED)
    assert not signing.key_needs_passphrase(PRIVATE)
    with pytest.raises(UsageError, match="protected by a passphrase"):
        signing.load_signing_key(ENCRYPTED, "release.key")
