"""SSH signatures (the SSHSIG format of OpenSSH's PROTOCOL.sshsig) with ed25519 keys.

A release's `SHA256SUMS` is signed in the namespace `curator`, so anyone can check it with
a tool they already have — `ssh-keygen -Y verify -n curator` — and curator checks it with
the same code path on an air-gapped machine. Signing and verifying use the `cryptography`
library; curator never runs ssh-keygen itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from curator.host.inputs import Unreadable, read_regular
from curator.model.errors import UsageError

NAMESPACE = "curator"
KEY_TYPE = "ssh-ed25519"
_MAGIC = b"SSHSIG"
_VERSION = 1
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
_PRIVATE_KEY_HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"
MAX_KEY_BYTES = 2**20  # an OpenSSH ed25519 key is well under 1 KiB


class BadSignature(Exception):
    """A signature that does not hold; the message says why (core-internal, see `verify`)."""


@dataclass(frozen=True)
class PublicKey:
    """An ed25519 public key with its SSH wire encoding."""

    key: Ed25519PublicKey
    comment: str = ""

    @property
    def blob(self) -> bytes:
        """The key in SSH wire format (what fingerprints and signatures carry)."""
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _string(KEY_TYPE.encode()) + _string(raw)

    @property
    def fingerprint(self) -> str:
        """`SHA256:…` exactly as `ssh-keygen -l` prints it."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    def openssh(self) -> str:
        """One `authorized_keys`-style line: `ssh-ed25519 AAAA… comment`."""
        line = f"{KEY_TYPE} {base64.b64encode(self.blob).decode()}"
        return f"{line} {self.comment}" if self.comment else line

    def allowed_signers(self, identity: str) -> str:
        """A line for ssh-keygen's allowed_signers file, limited to curator's namespace."""
        return f'{identity} namespaces="{NAMESPACE}" {KEY_TYPE} {base64.b64encode(self.blob).decode()}'


@dataclass(frozen=True)
class SigningKey:
    """An ed25519 private key, and where it came from (for messages)."""

    key: Ed25519PrivateKey
    source: str

    @property
    def public(self) -> PublicKey:
        """Its public half."""
        return PublicKey(self.key.public_key())


def load_signing_key(text: bytes, source: str, passphrase: bytes | None = None) -> SigningKey:
    """An OpenSSH private key (`ssh-keygen -t ed25519`); bad input is a `UsageError` naming `source`."""
    if _PRIVATE_KEY_HEADER.encode() not in text:
        raise UsageError(f"{source}: not an OpenSSH private key; make one with `ssh-keygen -t ed25519 -f KEY`")
    try:
        key = serialization.load_ssh_private_key(text, password=passphrase)
    except TypeError:
        raise UsageError(
            f"{source}: the key is protected by a passphrase; set CURATOR_SIGNING_PASSPHRASE "
            "or run curator in a terminal to be asked for it"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        if "bcrypt" in str(exc):
            raise UsageError(
                f"{source}: a passphrase-protected key needs the bcrypt package to decrypt (`pip install bcrypt`)"
            ) from None
        raise UsageError(f"{source}: cannot read the key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{source}: curator signs with ed25519 keys only; make one with `ssh-keygen -t ed25519`")
    return SigningKey(key, source)


def key_needs_passphrase(text: bytes) -> bool:
    """Whether an OpenSSH private key is encrypted (so a passphrase must be asked for)."""
    try:
        serialization.load_ssh_private_key(text, password=None)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return False


def load_public_key(text: str, source: str) -> PublicKey:
    """An OpenSSH public key line (`KEY.pub`, or the key part of an allowed_signers line)."""
    for line in text.splitlines():
        words = line.split()
        if KEY_TYPE not in words:
            continue
        at = words.index(KEY_TYPE)
        try:
            blob = base64.b64decode(words[at + 1], validate=True)
            key = serialization.load_ssh_public_key(f"{KEY_TYPE} {words[at + 1]}".encode())
        except (IndexError, ValueError, binascii.Error, UnsupportedAlgorithm):
            break
        assert isinstance(key, Ed25519PublicKey)
        public = PublicKey(key, " ".join(words[at + 2 :]))
        if public.blob != blob:  # pragma: no cover - cryptography would have refused it
            break
        return public
    raise UsageError(f"{source}: no ssh-ed25519 public key in it (expected a line like `ssh-ed25519 AAAA… comment`)")


def sign(message: bytes, key: SigningKey, namespace: str = NAMESPACE) -> str:
    """An armored SSH signature of `message` (`-----BEGIN SSH SIGNATURE-----`), as `ssh-keygen -Y sign` makes."""
    hash_name = "sha512"
    signature = key.key.sign(_signed_data(message, namespace, hash_name))
    blob = (
        _MAGIC
        + struct.pack(">I", _VERSION)
        + _string(key.public.blob)
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_name.encode())
        + _string(_string(KEY_TYPE.encode()) + _string(signature))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    return "\n".join([_BEGIN, *lines, _END]) + "\n"


def signer(armored: str) -> PublicKey:
    """The public key a signature says it was made with (not yet a proof of anything)."""
    return _parse(armored).public


def parse(armored: str) -> Parsed:
    """What an armored SSH signature says of itself: its key, namespace and hash (not yet a proof
    of anything); `BadSignature` when it is not a well-formed ed25519 SSH signature."""
    return _parse(armored)


def public_key_from_blob(blob: bytes) -> PublicKey:
    """An ed25519 public key from its SSH wire encoding (the base64 part of a key line, decoded);
    a `ValueError` says what is wrong with it."""
    reader = _Reader(blob)
    try:
        kind = reader.string()
        raw = reader.string()
    except BadSignature:
        raise ValueError("the key is truncated") from None
    if kind != KEY_TYPE.encode():
        raise ValueError(f"the key is of type {kind.decode('ascii', 'replace')!r}, not {KEY_TYPE}")
    if len(raw) != 32 or reader.at != len(blob):
        raise ValueError("the key is not a well-formed ed25519 key")
    return PublicKey(Ed25519PublicKey.from_public_bytes(raw))


def verify(message: bytes, armored: str, trusted: PublicKey, namespace: str = NAMESPACE) -> None:
    """Check an armored SSH signature of `message` by `trusted`; `BadSignature` says what is wrong."""
    parsed = _parse(armored)
    if parsed.namespace != namespace:
        raise BadSignature(f"made for namespace {parsed.namespace!r}, not {namespace!r}")
    if parsed.public.blob != trusted.blob:
        raise BadSignature(f"made with key {parsed.public.fingerprint}, not the trusted key {trusted.fingerprint}")
    try:
        trusted.key.verify(parsed.signature, _signed_data(message, namespace, parsed.hash_name))
    except InvalidSignature:
        raise BadSignature("does not match the signed file (it was changed after signing)") from None


@dataclass(frozen=True)
class Parsed:
    """An SSH signature's own fields, read but not yet checked against anything."""

    public: PublicKey
    namespace: str
    hash_name: str
    signature: bytes


def _parse(armored: str) -> Parsed:
    text = armored.strip()
    if not (text.startswith(_BEGIN) and text.endswith(_END)):
        raise BadSignature("is not an armored SSH signature")
    body = "".join(text[len(_BEGIN) : -len(_END)].split())
    try:
        blob = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise BadSignature("is not valid base64") from None
    reader = _Reader(blob)
    if reader.take(len(_MAGIC)) != _MAGIC:
        raise BadSignature("does not start with SSHSIG")
    if (version := reader.uint32()) != _VERSION:
        raise BadSignature(f"has version {version}; only version {_VERSION} is known")
    key_blob = reader.string()
    namespace = reader.string().decode("utf-8", "replace")
    reader.string()  # reserved
    hash_name = reader.string().decode("ascii", "replace")
    if hash_name not in _HASHES:
        raise BadSignature(f"uses hash {hash_name!r}; expected sha512 or sha256")
    signature = _Reader(reader.string())
    key_reader = _Reader(key_blob)
    if key_reader.string() != KEY_TYPE.encode() or signature.string() != KEY_TYPE.encode():
        raise BadSignature("is not an ed25519 signature")
    raw_key = key_reader.string()
    raw_signature = signature.string()
    if len(raw_key) != 32 or len(raw_signature) != 64:
        raise BadSignature("holds a malformed ed25519 key or signature")
    public = PublicKey(Ed25519PublicKey.from_public_bytes(raw_key))
    return Parsed(public, namespace, hash_name, raw_signature)


def _signed_data(message: bytes, namespace: str, hash_name: str) -> bytes:
    digest = _HASHES[hash_name](message).digest()
    return _MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_name.encode()) + _string(digest)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    """Reads SSH wire-format fields; running out of bytes is a `BadSignature`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise BadSignature("is truncated")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())


def read_key_file(path: Path) -> bytes:
    """A key file's bytes; a missing or unreadable file, or anything but a small regular file
    (`/dev/zero`, a FIFO), is a `UsageError`."""
    try:
        return read_regular(path, MAX_KEY_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: cannot read the key (no such file)") from None
    except Unreadable as exc:
        raise UsageError(f"{path}: cannot read the key: {exc}") from None
