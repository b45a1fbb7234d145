"""Accounts on the embedded Synapse: shared-secret registration, login, whoami.

Synchronous (urllib) so that the test fixture and ``dieuhanh up`` share it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class MatrixError(RuntimeError):
    """A Matrix API call answered with an error."""

    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"{status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode


@dataclass(frozen=True)
class Session:
    """A logged-in account."""

    user_id: str
    access_token: str
    device_id: str | None = None


def call(
    base_url: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """One JSON request to the homeserver; raises MatrixError on an error status."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(f"{base_url}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            err = json.loads(raw)
        except ValueError:
            err = {"error": raw.decode("utf-8", "replace")[:200]}
        raise MatrixError(exc.code, err.get("errcode", "M_UNKNOWN"), err.get("error", "")) from None


def registration_mac(
    shared_secret: str,
    nonce: str,
    username: str,
    password: str,
    admin: bool,
    user_type: str | None = None,
) -> str:
    """The HMAC-SHA1 that ``/_synapse/admin/v1/register`` expects."""
    mac = hmac.new(shared_secret.encode("utf-8"), digestmod=hashlib.sha1)
    parts = [nonce, username, password, "admin" if admin else "notadmin"]
    if user_type:
        parts.append(user_type)
    mac.update(b"\x00".join(p.encode("utf-8") for p in parts))
    return mac.hexdigest()


def register(
    base_url: str,
    shared_secret: str,
    username: str,
    password: str,
    *,
    admin: bool = False,
    displayname: str | None = None,
) -> Session:
    """Create an account with the shared secret; MatrixError M_USER_IN_USE if it exists."""
    path = "/_synapse/admin/v1/register"
    nonce = call(base_url, "GET", path)["nonce"]
    body: dict[str, Any] = {
        "nonce": nonce,
        "username": username,
        "password": password,
        "admin": admin,
        "mac": registration_mac(shared_secret, nonce, username, password, admin),
    }
    if displayname:
        body["displayname"] = displayname
    result = call(base_url, "POST", path, body)
    return Session(result["user_id"], result["access_token"], result.get("device_id"))


def login(base_url: str, username: str, password: str, device_id: str | None = None) -> Session:
    """Log in with a password (``m.login.password``)."""
    body: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": password,
    }
    if device_id:
        body["device_id"] = device_id
    result = call(base_url, "POST", "/_matrix/client/v3/login", body)
    return Session(result["user_id"], result["access_token"], result.get("device_id"))


def whoami(base_url: str, token: str) -> str | None:
    """The user ID behind ``token``, or None if the token is not (or no longer) valid."""
    try:
        return call(base_url, "GET", "/_matrix/client/v3/account/whoami", token=token)["user_id"]
    except MatrixError as exc:
        if exc.status in (401, 403):
            return None
        raise


def ensure_account(
    base_url: str,
    shared_secret: str,
    username: str,
    password: str,
    *,
    admin: bool = False,
    token: str | None = None,
    displayname: str | None = None,
) -> Session:
    """A session for ``username``: reuse ``token`` if valid, else register, else log in."""
    if token:
        user_id = whoami(base_url, token)
        if user_id is not None and user_id.startswith(f"@{username}:"):
            return Session(user_id, token)
    try:
        return register(
            base_url, shared_secret, username, password, admin=admin, displayname=displayname
        )
    except MatrixError as exc:
        if exc.errcode != "M_USER_IN_USE":
            raise
    return login(base_url, username, password)


def quote(value: str) -> str:
    """Percent-encode a path segment (user or room IDs)."""
    return urllib.parse.quote(value, safe="")
