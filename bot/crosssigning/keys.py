"""The bot's cross-signing keys: generate, keep on disk, sign key objects, check signatures.

Pure apart from reading and writing the key file. Signatures are those of the Matrix spec
("Signing JSON"): ed25519 over canonical JSON without ``signatures`` and ``unsigned``, done
by ``signedjson`` (the library Synapse itself uses).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nacl.signing import SigningKey
from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

log = logging.getLogger(__name__)

USAGES = ("master", "self_signing", "user_signing")
KEY_FILE = "cross_signing.json"

Json = dict[str, Any]
Action = Literal["keep", "upload", "reset"]


class CrossSigningError(RuntimeError):
    """Cross-signing cannot be set up (the bot keeps running without it)."""


def _from_seed(seed: str) -> SigningKey:
    """A signing key whose key id is its own public key, as cross-signing keys are named."""
    key = decode_signing_key_base64("ed25519", "_", seed)
    key.version = encode_verify_key_base64(get_verify_key(key))
    return key


def _public(key: SigningKey) -> str:
    return encode_verify_key_base64(get_verify_key(key))


@dataclass(frozen=True)
class CrossSigningKeys:
    """A user's three cross-signing key pairs (private halves: never log them)."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    def __repr__(self) -> str:  # keep private keys out of tracebacks and logs
        return f"CrossSigningKeys({self.user_id}, master {self.public('master')})"

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        seeds = [encode_signing_key_base64(generate_signing_key("_")) for _ in USAGES]
        return cls(user_id, *(_from_seed(s) for s in seeds))

    def key(self, usage: str) -> SigningKey:
        if usage not in USAGES:
            raise ValueError(usage)
        return getattr(self, usage)

    def public(self, usage: str) -> str:
        return _public(self.key(usage))

    def key_object(self, usage: str) -> Json:
        """The public key as uploaded; the two subkeys signed by the master key."""
        public = self.public(usage)
        obj = {"user_id": self.user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}
        return obj if usage == "master" else sign_json(obj, self.user_id, self.master)

    def upload_body(self) -> Json:
        """The body of POST /keys/device_signing/upload."""
        return {f"{usage}_key": self.key_object(usage) for usage in USAGES}

    def sign_device(self, device: Json) -> Json:
        """The device's keys with our self-signing key's signature added."""
        clean = {k: v for k, v in copy.deepcopy(device).items() if k != "unsigned"}
        return sign_json(clean, self.user_id, self.self_signing)

    def on_server(self, answer: Json) -> bool:
        """Whether the server publishes exactly our three public keys."""
        return all(
            public_key(server_key(answer, self.user_id, u)) == self.public(u) for u in USAGES
        )

    def to_json(self) -> Json:
        return {"user_id": self.user_id} | {
            usage: encode_signing_key_base64(self.key(usage)) for usage in USAGES
        }

    @classmethod
    def from_json(cls, data: Json) -> CrossSigningKeys:
        return cls(data["user_id"], *(_from_seed(data[usage]) for usage in USAGES))


def server_key(answer: Json, user_id: str, usage: str) -> Json | None:
    """The user's cross-signing key of this usage in a /keys/query answer."""
    return (answer.get(f"{usage}_keys") or {}).get(user_id)


def public_key(key_object: Json | None) -> str | None:
    """The single ed25519 public key of a cross-signing key object."""
    found = [v for k, v in (key_object or {}).get("keys", {}).items() if k.startswith("ed25519:")]
    return found[0] if len(found) == 1 else None


def is_signed(obj: Json | None, user_id: str, key_id: str, public: str | None) -> bool:
    """Whether ``obj`` carries a valid signature by ``user_id``'s key ``key_id``."""
    if not obj or not public:
        return False
    alg, _, version = key_id.partition(":")
    try:
        verify_signed_json(obj, user_id, decode_verify_key_base64(alg, version, public))
    except (SignatureVerifyException, ValueError):
        return False
    return True


def is_cross_signed(answer: Json, user_id: str, device_id: str) -> bool:
    """Device ← self-signing key ← master key, every signature checked."""
    master = public_key(server_key(answer, user_id, "master"))
    ssk_obj = server_key(answer, user_id, "self_signing")
    ssk = public_key(ssk_obj)
    device = (answer.get("device_keys") or {}).get(user_id, {}).get(device_id)
    return (
        master is not None
        and is_signed(ssk_obj, user_id, f"ed25519:{master}", master)
        and is_signed(device, user_id, f"ed25519:{ssk}", ssk)
    )


def plan(local: CrossSigningKeys | None, answer: Json, user_id: str) -> Action:
    """keep: the server has our keys; upload: it has none (a first upload needs no UIA,
    MSC3967); reset: it has keys we do not hold (store lost, or someone else set them)."""
    if all(server_key(answer, user_id, usage) is None for usage in USAGES):
        return "upload"
    if local is not None and local.on_server(answer):
        return "keep"
    return "reset"


def check_own_device(device: Json | None, user_id: str, device_id: str, ed25519: str) -> None:
    """Refuse to cross-sign a device object that is not exactly our own device's keys."""
    if not device or device.get("user_id") != user_id or device.get("device_id") != device_id:
        raise CrossSigningError(f"device {device_id} has no keys on the server")
    key_id = f"ed25519:{device_id}"
    if device.get("keys", {}).get(key_id) != ed25519 or not is_signed(
        device, user_id, key_id, ed25519
    ):
        raise CrossSigningError(f"the server's keys for device {device_id} are not ours")


# ---------------------------------------------------------------------- the key file


def load(path: Path, user_id: str) -> CrossSigningKeys | None:
    """The keys kept in ``path``, or None if there are none (for this user)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s was readable by others; restricting it to its owner", path)
        path.chmod(0o600)
    if data.get("user_id") != user_id:
        log.warning("%s holds keys of %s, not %s; ignoring it", path, data.get("user_id"), user_id)
        return None
    return CrossSigningKeys.from_json(data)


def save(path: Path, keys: CrossSigningKeys) -> None:
    """Write the keys atomically, readable by the bot's user only (0600, directory 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(keys.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
