"""Issue 11, item 8: the bot's device is cross-signed by its owner.

Element (matrix-js-sdk with the rust crypto) marks every message from a device that its
owner has not cross-signed with a red shield, "encrypted by a device not verified by its
owner", and clients that exclude insecure devices (MSC4153) drop such messages. Here an
official's client fetches the bot's keys from the real Synapse and checks every signature
itself: device ← self-signing key ← master key; after a restart nothing changes; a reply in
an encrypted DM comes from that device; a new device and a lost key file are dealt with.
"""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, RoomMessageNotice
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64

from provisioning.matrix.client import MatrixClient, q

from ..bot.test_bot_matrix import Setup, keys, open_encrypted_dm, send
from ..waiting import eventually_async

KEY_FILE = "cross_signing.json"


@pytest.fixture(scope="module")
def setup(synapse, tmp_path_factory):
    s = Setup(synapse, tmp_path_factory.mktemp("xsign"))
    s.bot.start(wait_for="initial sync done")
    yield s
    s.bot.stop()
    s.engine.dispose()


def bot_id(setup: Setup) -> str:
    return f"@{setup.config.bot.localpart}:{setup.synapse.server_name}"


def store(setup: Setup) -> Path:
    return Path(setup.env["DIEUHANH_BOT_STORE_PATH"])


def bot_device(setup: Setup) -> str:
    return json.loads((store(setup) / "session.json").read_text())["device_id"]


def restart(setup: Setup) -> None:
    setup.bot.stop()
    setup.bot.start(wait_for="cross-signing ready")


async def call(client: AsyncClient, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One client-server API call with the official's own token."""
    async with MatrixClient(client.homeserver, client.access_token) as http:
        return await http.request(method, "/_matrix/client/v3" + path, body)


async def query(client: AsyncClient, user_id: str) -> dict[str, Any]:
    """POST /keys/query, as Element does for everyone it shares an encrypted room with."""
    return await call(client, "POST", "/keys/query", {"device_keys": {user_id: []}})


def bot_keys(setup: Setup) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        client = await setup.client("ht1")
        try:
            return await query(client, bot_id(setup))
        finally:
            await client.close()

    return asyncio.run(run())


def only_key(key_object: dict[str, Any]) -> str:
    (public,) = key_object["keys"].values()
    assert key_object["keys"] == {f"ed25519:{public}": public}
    return public


def check(obj: dict[str, Any], signer: str, key_id: str, public: str) -> None:
    """A real ed25519 check of ``obj``'s signature by ``signer``'s key ``key_id``."""
    verify_key = decode_verify_key_bytes(key_id, decode_base64(public))
    verify_signed_json(obj, signer, verify_key)


def cross_signed_devices(answer: dict[str, Any], user_id: str) -> dict[str, dict[str, Any]]:
    """The user's devices whose signature chain up to the master key verifies."""
    master = answer["master_keys"][user_id]
    assert master["user_id"] == user_id and master["usage"] == ["master"]
    master_pub = only_key(master)
    ssk = answer["self_signing_keys"][user_id]
    assert ssk["user_id"] == user_id and ssk["usage"] == ["self_signing"]
    ssk_pub = only_key(ssk)
    check(ssk, user_id, f"ed25519:{master_pub}", master_pub)
    signed = {}
    for device_id, device in answer["device_keys"][user_id].items():
        own = device["keys"][f"ed25519:{device_id}"]
        check(device, user_id, f"ed25519:{device_id}", own)  # the device's own signature
        try:
            check(device, user_id, f"ed25519:{ssk_pub}", ssk_pub)
        except (SignatureVerifyException, KeyError):
            continue
        signed[device_id] = device
    return signed


def test_the_bots_device_is_signed_by_its_self_signing_key_signed_by_its_master_key(setup):
    answer = bot_keys(setup)
    bot = bot_id(setup)
    assert bot in answer.get("master_keys", {}), f"no cross-signing keys for the bot: {answer}"
    signed = cross_signed_devices(answer, bot)
    device_id = bot_device(setup)
    assert device_id in signed
    # the same check refuses a device whose keys were changed after signing
    forged = json.loads(json.dumps(signed[device_id]))
    forged["keys"][f"curve25519:{device_id}"] = "A" * 43
    ssk_pub = only_key(answer["self_signing_keys"][bot])
    with pytest.raises(SignatureVerifyException):
        check(forged, bot, f"ed25519:{ssk_pub}", ssk_pub)


def test_private_keys_are_kept_0600_in_a_0700_store_and_never_logged(setup):
    folder = store(setup)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    key_file = folder / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secrets = [v for k, v in json.loads(key_file.read_text()).items() if k != "user_id"]
    assert len(secrets) == 3 and all(len(s) >= 43 for s in secrets)
    log = setup.bot.log_path.read_text()
    assert not [s for s in secrets if s in log]


def test_a_restart_keeps_the_keys_and_the_signatures(setup):
    before = bot_keys(setup)
    device = bot_device(setup)
    restart(setup)
    after = bot_keys(setup)
    bot = bot_id(setup)
    assert bot_device(setup) == device
    for section in ("master_keys", "self_signing_keys"):
        assert after[section][bot] == before[section][bot]
    assert after["device_keys"][bot][device] == before["device_keys"][bot][device]
    assert device in cross_signed_devices(after, bot)


async def decrypted_reply(client: AsyncClient, room_id: str, bot: str, to: str) -> Any:
    async def reply() -> Any:
        response = await client.sync(timeout=1000)
        await keys(client)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageNotice) and event.sender == bot:
                assert event.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == to
                assert event.decrypted
                return event
        return None

    return await eventually_async(reply, 60, "a decrypted reply from the bot", interval=0)


def test_an_encrypted_dm_reply_comes_from_the_cross_signed_device(setup):
    bot = bot_id(setup)

    async def run() -> tuple[Any, dict[str, Any], dict[str, Any]]:
        client = await setup.client("ht1", encrypted=True)
        try:
            room_id = await open_encrypted_dm(client, bot)
            asked = await send(client, room_id, "!thống kê THCS")
            reply = await decrypted_reply(client, room_id, bot, asked)
            wire = await call(client, "GET", f"/rooms/{q(room_id)}/event/{q(reply.event_id)}")
            return reply, wire, await query(client, bot)
        finally:
            await client.close()

    reply, wire, answer = asyncio.run(run())
    signed = cross_signed_devices(answer, bot)
    assert list(signed) == [bot_device(setup)]
    (device_id, device) = next(iter(signed.items()))
    # the megolm session came over olm from this device's curve25519 key
    assert reply.sender_key == device["keys"][f"curve25519:{device_id}"]
    assert wire["type"] == "m.room.encrypted" and wire["content"]["device_id"] == device_id


def test_a_new_device_is_signed_with_the_same_keys(setup):
    before = bot_keys(setup)
    bot = bot_id(setup)
    old_device = bot_device(setup)
    setup.bot.stop()
    (store(setup) / "session.json").unlink()  # the next start logs in: a new device
    setup.bot.start(wait_for="cross-signing ready")
    new_device = bot_device(setup)
    assert new_device != old_device
    after = bot_keys(setup)
    assert after["master_keys"][bot] == before["master_keys"][bot]
    assert new_device in cross_signed_devices(after, bot)


def test_lost_keys_reset_the_identity_with_a_warning(setup):
    before = bot_keys(setup)
    bot = bot_id(setup)
    setup.bot.stop()
    (store(setup) / KEY_FILE).unlink()
    setup.bot.start(wait_for="cross-signing ready")
    after = bot_keys(setup)
    assert only_key(after["master_keys"][bot]) != only_key(before["master_keys"][bot])
    assert bot_device(setup) in cross_signed_devices(after, bot)
    log = setup.bot.log_path.read_text()
    assert "WARNING" in log and "resetting the bot's cross-signing identity" in log
