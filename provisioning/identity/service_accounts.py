"""Service accounts: the only accounts that log in with a password (pure).

Staff log in with their phone and a one-time code; they have no password and no way to set
one: Synapse's own password database is off (``password_config.localdb_enabled: false``,
which also turns off ``/account/password`` and the admin API's password setting). The
admin and the bot still need a password of their own: the phone-login module checks it
against a SHA-256 digest in its configuration. Their passwords are long random secrets
(``data/secrets/``), so a plain digest is enough and none is kept in clear in Synapse's
configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

PREFIX = "sha256:"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def digest(password: str) -> str:
    """What the module's configuration holds for a service account's password."""
    return PREFIX + hashlib.sha256(password.encode("utf-8")).hexdigest()


def is_digest(value: object) -> bool:
    return isinstance(value, str) and bool(_DIGEST.match(value))


def localpart_of(username: str, server_name: str) -> str | None:
    """The localpart a client typed, bare or as a full user id of this server."""
    if username.startswith("@"):
        localpart, _, server = username[1:].partition(":")
        return localpart if server == server_name else None
    return username


def check(accounts: Mapping[str, str], localpart: str | None, password: object) -> bool:
    """Whether ``password`` is the service account's own (constant-time)."""
    expected = accounts.get(localpart or "")
    if not expected or not isinstance(password, str) or not password:
        return False
    return hmac.compare_digest(expected, digest(password))
