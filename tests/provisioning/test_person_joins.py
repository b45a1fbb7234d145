"""Apply's joins as the person (client API, a short-lived token), against the real Synapse;
the fallbacks to the admin join API against a local server answering as Synapse does
when it limits or has not replicated an invite (neither reproducible on demand)."""

from __future__ import annotations

import logging
import re

import pytest

from provisioning.matrix import person_joins
from provisioning.matrix.client import MatrixClient, q
from provisioning.matrix.person_joins import PersonJoins

from .test_client import Flaky, serve


def _tokens(synapse, user_id: str) -> int:
    """Tokens to act as ``user_id`` issued to the admin (Synapse keeps the admin as the
    token's user and the person as the one it puppets); with their expiry."""
    rows = synapse.sql(
        "SELECT valid_until_ms FROM access_tokens WHERE puppets_user_id = ?", (user_id,)
    )
    assert all(until for (until,) in rows)  # every one expires
    return len(rows)


async def test_people_join_as_themselves_with_one_token_logged_out_at_the_end(synapse):
    person = synapse.register_user().user_id
    async with MatrixClient(synapse.base_url, synapse.admin_token) as admin:
        devices = f"/_synapse/admin/v2/users/{q(person)}/devices"
        before = (await admin.request("GET", devices))["total"]  # registering made one
        rooms = [await admin.create_room({"preset": "private_chat"}) for _ in range(3)]
        joins = PersonJoins(admin)
        for room_id in rooms:
            await joins.join(room_id, person)
        await joins.join(rooms[0], person)  # already there
        assert joins.stats == {"client": 3, "already": 1}
        assert _tokens(synapse, person) == 1  # one token for all three joins
        for room_id in rooms:
            assert person in await admin.members(room_id)
            member = await admin.request(
                "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/m.room.member/{q(person)}"
            )
            assert member["membership"] == "join"
        await joins.close()
        assert _tokens(synapse, person) == 0  # logged out
        assert (await admin.request("GET", devices))["total"] == before  # the token made none


async def test_a_join_without_an_invite_is_retried_then_refused_as_not_invited(
    synapse, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(person_joins, "NOT_INVITED_RETRIES", (0.01, 0.01))
    person = synapse.register_user().user_id
    async with MatrixClient(synapse.base_url, synapse.admin_token) as admin:
        room_id = await admin.create_room({"preset": "private_chat"})
        joins = PersonJoins(admin)
        with pytest.raises(person_joins._Fallback, match="not-invited"):
            await joins._join_as(room_id, person)  # never invited: "not invited" each time
        assert person not in await admin.members(room_id)
        await joins.close()


ROOM = "!r:x"
# as the server sees them (decoded)
INVITE = f"/_matrix/client/v3/rooms/{ROOM}/invite"
JOIN = f"/_matrix/client/v3/rooms/{ROOM}/join"
ADMIN_JOIN = f"/_synapse/admin/v1/join/{ROOM}"
LOGIN = "/_synapse/admin/v1/users/@p:x/login"
OK, TOKEN = (200, {}), (200, {"access_token": "t"})
LIMITED = (429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 60_000})
NOT_INVITED = (403, {"errcode": "M_FORBIDDEN", "error": "You are not invited to this room."})
NO_SERVERS = (404, {"errcode": "M_UNKNOWN", "error": "No known servers"})


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ({INVITE: [LIMITED]}, "rate-limited"),
        ({INVITE: [OK], LOGIN: [TOKEN], JOIN: [LIMITED]}, "rate-limited"),
        ({INVITE: [OK], LOGIN: [TOKEN], JOIN: [NOT_INVITED]}, "not-invited"),
        ({INVITE: [OK], LOGIN: [TOKEN], JOIN: [NO_SERVERS]}, "not-invited"),
        ({INVITE: [OK], LOGIN: [(404, {"errcode": "M_NOT_FOUND"})]}, "no-token"),
    ],
)  # fmt: skip
async def test_where_the_client_api_cannot_join_the_admin_api_does_without_waiting(
    script, reason, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(person_joins, "NOT_INVITED_RETRIES", (0.01,))
    flaky = Flaky(
        {**script, ADMIN_JOIN: [(200, {"room_id": ROOM})], "/_matrix/client/v3/logout": [(200, {})]}
    )
    runner, url = await serve(flaky)
    try:
        async with MatrixClient(url, "admin", backoff=0.01) as admin:
            joins = PersonJoins(admin)
            await joins.join(ROOM, "@p:x")
            await joins.close()
    finally:
        await runner.cleanup()
    assert joins.stats == {reason: 1}
    assert flaky.calls[ADMIN_JOIN] == 1  # a 60 s retry_after was not waited out


def test_apply_on_workers_joins_people_as_themselves_and_leaves_no_token(world, caplog):
    """With ``homeserver.workers`` apply joins through the client API: the same rooms and
    members as the admin API gives (test_apply), and no token to act as anyone remains."""
    world.config.homeserver.workers = True
    caplog.set_level(logging.INFO, logger=person_joins.__name__)
    world.load()
    world.apply()
    assert re.search(r"joins: .*client [1-9]", caplog.text)  # not the admin API
    assert world.plan().total == 0
    ht1 = world.user_id("ht1")
    school = {world.user_id(p) for p in ("ht1", "gv1", "gv2", "tt1", "nv1")}
    assert school <= world.members(world.unit_room("thcs1", "announcements"))
    assert world.unit_room("thcs1", "announcements") in world.joined_rooms(ht1)
    tokens = world.synapse.sql(
        "SELECT count(*) FROM access_tokens WHERE puppets_user_id = ?", (ht1,)
    )
    assert tokens == [(0,)]
