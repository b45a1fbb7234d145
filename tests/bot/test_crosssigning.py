"""The pure part of the bot's cross-signing: keys, signatures, the plan, the key file."""

from __future__ import annotations

import json
import stat

import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from bot.crosssigning.keys import (
    CrossSigningError,
    CrossSigningKeys,
    check_own_device,
    is_cross_signed,
    is_signed,
    load,
    plan,
    save,
)

USER = "@dieuhanh:test.local"


def device(device_id: str = "DEV") -> tuple[dict, str]:
    """Device keys as a client uploads them, self-signed by the device's ed25519 key."""
    key = generate_signing_key(device_id)
    public = encode_verify_key_base64(get_verify_key(key))
    obj = {
        "user_id": USER,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"curve25519:{device_id}": "c" * 43, f"ed25519:{device_id}": public},
    }
    return sign_json(obj, USER, key), public


def answer(keys: CrossSigningKeys, devices: dict | None = None) -> dict:
    """A /keys/query answer publishing ``keys`` (as the user themselves sees it)."""
    body = keys.upload_body()
    return {
        "device_keys": {USER: devices or {}},
        **{
            f"{u}_keys": {USER: body[f"{u}_key"]}
            for u in ("master", "self_signing", "user_signing")
        },
    }


def test_subkeys_are_signed_by_the_master_key_and_named_by_their_public_key():
    keys = CrossSigningKeys.generate(USER)
    body = keys.upload_body()
    master = keys.public("master")
    assert body["master_key"]["keys"] == {f"ed25519:{master}": master}
    for usage in ("self_signing", "user_signing"):
        obj = body[f"{usage}_key"]
        assert obj["usage"] == [usage] and obj["user_id"] == USER
        assert is_signed(obj, USER, f"ed25519:{master}", master)
        assert not is_signed(obj, USER, f"ed25519:{master}", keys.public(usage))
    assert len({keys.public(u) for u in ("master", "self_signing", "user_signing")}) == 3


def test_a_signed_device_verifies_and_a_tampered_one_does_not():
    keys = CrossSigningKeys.generate(USER)
    dev, _ = device()
    signed = keys.sign_device({**dev, "unsigned": {"device_display_name": "bot"}})
    assert "unsigned" not in signed
    assert not is_cross_signed(answer(keys, {"DEV": dev}), USER, "DEV")
    assert is_cross_signed(answer(keys, {"DEV": signed}), USER, "DEV")
    tampered = {**signed, "keys": {**signed["keys"], "curve25519:DEV": "d" * 43}}
    assert not is_cross_signed(answer(keys, {"DEV": tampered}), USER, "DEV")
    other = CrossSigningKeys.generate(USER)  # a chain to another master key fails
    assert not is_cross_signed(answer(other, {"DEV": signed}), USER, "DEV")


def test_plan_keeps_uploads_or_resets():
    keys = CrossSigningKeys.generate(USER)
    empty = {"device_keys": {}, "master_keys": {}, "self_signing_keys": {}}
    assert plan(None, empty, USER) == "upload"
    assert plan(keys, empty, USER) == "upload"
    assert plan(keys, answer(keys), USER) == "keep"
    assert plan(None, answer(keys), USER) == "reset"
    assert plan(CrossSigningKeys.generate(USER), answer(keys), USER) == "reset"


def test_only_our_own_device_is_cross_signed():
    dev, public = device()
    check_own_device(dev, USER, "DEV", public)
    _, stranger = device()
    with pytest.raises(CrossSigningError):
        check_own_device(dev, USER, "DEV", stranger)  # the server swapped the device's keys
    with pytest.raises(CrossSigningError):
        check_own_device(None, USER, "DEV", public)
    unsigned = {k: v for k, v in dev.items() if k != "signatures"}
    with pytest.raises(CrossSigningError):
        check_own_device(unsigned, USER, "DEV", public)


def test_the_key_file_is_private_and_round_trips(tmp_path):
    folder = tmp_path / "bot"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "cross_signing.json"
    keys = CrossSigningKeys.generate(USER)
    save(path, keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again = load(path, USER)
    assert (
        again is not None and again.upload_body()["master_key"] == keys.upload_body()["master_key"]
    )
    seeds = [v for k, v in json.loads(path.read_text()).items() if k != "user_id"]
    assert not [s for s in seeds if s in repr(keys)]
    assert load(path, "@someone:test.local") is None
    assert load(folder / "missing.json", USER) is None
    path.chmod(0o644)
    load(path, USER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
