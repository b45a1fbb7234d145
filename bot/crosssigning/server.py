"""Cross-signing the bot's device on the homeserver (thin adapter around ``keys``).

On every start, after the device keys are uploaded:

- no cross-signing keys on the server: generate them (or take the stored ones), store them,
  upload them — a first upload needs no user-interactive auth (MSC3967);
- the server has exactly our keys: keep them;
- the server has keys we do not hold (the key file was lost, or someone replaced them):
  reset the identity with our keys (fresh ones if none are stored); Synapse asks for
  user-interactive auth, answered by ``reauth``, and the bot logs a warning, because everyone
  who verified the bot will see its identity change;
- then sign the current device with the self-signing key, unless already done (a new
  login gives a new device).

The master key is not signed with the device (as Element does for the device that made
it): Synapse shows signatures on cross-signing keys only to their signer (``/keys/query``
adds those made by the querying user), so only the bot itself could ever see it.

Any failure is logged and the bot runs on without cross-signing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from provisioning.matrix.client import MatrixClient, MatrixError

from .keys import (
    KEY_FILE,
    CrossSigningError,
    CrossSigningKeys,
    check_own_device,
    is_cross_signed,
    load,
    plan,
    save,
)

log = logging.getLogger(__name__)

Json = dict[str, Any]
#: Given Synapse's 401 answer (flows, session), the ``auth`` dict that completes it.
Reauth = Callable[[Json], Awaitable[Json]]

KEYS = "/_matrix/client/v3/keys"


def password_reauth(user_id: str, password: str) -> Reauth:
    """User-interactive auth with the bot's password: the one step tied to how the bot
    authenticates (replace it if service accounts stop having passwords)."""

    async def reauth(challenge: Json) -> Json:
        flows = [flow.get("stages") for flow in challenge.get("flows", [])]
        if not password or ["m.login.password"] not in flows:
            raise CrossSigningError(f"cannot complete the homeserver's auth flows {flows}")
        return {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "session": challenge.get("session"),
        }

    return reauth


class CrossSigning:
    """Gives the bot's device a cross-signing identity on the homeserver."""

    def __init__(
        self,
        http: MatrixClient,
        *,
        user_id: str,
        device_id: str,
        device_ed25519: str,
        store: Path,
        reauth: Reauth,
    ) -> None:
        self.http = http
        self.user_id, self.device_id = user_id, device_id
        self.device_ed25519 = device_ed25519
        self.key_file = store / KEY_FILE
        self.reauth = reauth

    async def ensure(self) -> bool:
        """Set up what is missing; False (and an error in the log) if it could not be."""
        try:
            master = await self._ensure()
        except (MatrixError, CrossSigningError, OSError) as exc:
            log.error("cross-signing not set up, replies in encrypted rooms stay unsigned: %s", exc)
            return False
        log.info("cross-signing ready (master key %s, device %s signed)", master, self.device_id)
        return True

    async def _ensure(self) -> str:
        answer = await self._query()
        keys = load(self.key_file, self.user_id)
        action = plan(keys, answer, self.user_id)
        if action != "keep":
            if keys is None:
                keys = CrossSigningKeys.generate(self.user_id)
                save(self.key_file, keys)  # before the upload: never publish keys we lack
            if action == "reset":
                log.warning(
                    "the homeserver has cross-signing keys that %s does not hold: resetting "
                    "the bot's cross-signing identity (people who verified the bot will see "
                    "its identity change)",
                    self.key_file,
                )
            await self._upload_keys(keys.upload_body())
            answer = await self._query()
            if not keys.on_server(answer):
                raise CrossSigningError("the homeserver did not take the uploaded keys")
            log.info("uploaded cross-signing keys (%s)", action)
        await self._sign_device(keys, answer)
        return keys.public("master")

    async def _query(self) -> Json:
        body = {"device_keys": {self.user_id: [self.device_id]}}
        return await self.http.request("POST", f"{KEYS}/query", body)

    async def _upload_keys(self, body: Json) -> None:
        path = f"{KEYS}/device_signing/upload"
        try:
            await self.http.request("POST", path, body)
        except MatrixError as exc:
            if exc.status != 401 or "flows" not in exc.data:
                raise
            auth = await self.reauth(exc.data)
            await self.http.request("POST", path, {**body, "auth": auth})

    async def _sign_device(self, keys: CrossSigningKeys, answer: Json) -> None:
        if is_cross_signed(answer, self.user_id, self.device_id):
            return
        device = answer.get("device_keys", {}).get(self.user_id, {}).get(self.device_id)
        check_own_device(device, self.user_id, self.device_id, self.device_ed25519)
        await self._upload_signatures({self.device_id: keys.sign_device(device)})
        log.info("signed device %s with the self-signing key", self.device_id)

    async def _upload_signatures(self, objects: Json) -> None:
        answer = await self.http.request(
            "POST", f"{KEYS}/signatures/upload", {self.user_id: objects}
        )
        if answer.get("failures"):
            raise CrossSigningError(f"signatures refused: {answer['failures']}")
