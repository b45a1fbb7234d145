"""The deployment's secrets: generated once, kept one per file in the secrets directory.

Synapse reads its own from there (``*_path`` settings), our services get theirs through
systemd ``EnvironmentFile``s, each holding only what that service needs.
"""

from __future__ import annotations

import io
import secrets as random
import string
from dataclasses import dataclass
from pathlib import Path

from signedjson.key import generate_signing_key, write_signing_keys

#: Secrets of the deployment, one file each under the secrets directory.
NAMES = (
    "registration_shared_secret",
    "macaroon_secret_key",
    "form_secret",
    "worker_replication_secret",
    "turn_shared_secret",
    "as_token",
    "hs_token",
    "admin_password",
    "bot_password",
    "login_secret",
    "activity_db_password",  # the login module's PostgreSQL role (answers.activity_role)
)


@dataclass(frozen=True)
class Secrets:
    """Every generated secret of a deployment (values in memory only)."""

    values: dict[str, str]
    signing_key: str  # Synapse's signing key file, as Synapse writes it

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    @classmethod
    def generate(cls) -> Secrets:
        return cls({n: random.token_urlsafe(32) for n in NAMES}, new_signing_key())


def new_signing_key() -> str:
    """An ed25519 signing key in Synapse's file format (what --generate-config writes)."""
    alphabet = string.ascii_letters + string.digits
    key_id = "a_" + "".join(random.choice(alphabet) for _ in range(4))
    out = io.StringIO()
    write_signing_keys(out, [generate_signing_key(key_id)])
    return out.getvalue()


def load_or_create_secrets(directory: Path) -> Secrets:
    """The secrets kept in ``directory``; missing ones are generated (not written here:
    ``write_bundle`` writes them with the rest, mode 0600)."""
    fresh = Secrets.generate()
    values = {}
    for name in NAMES:
        path = directory / name
        kept = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        values[name] = kept or fresh[name]
    key_path = directory / "signing.key"
    key = key_path.read_text(encoding="utf-8") if key_path.exists() else ""
    return Secrets(values, key or fresh.signing_key)
