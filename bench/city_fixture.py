"""A homeserver with a city's room set for the bot, built once per size and cached.

Rooms come in the city's proportions (``build_layout`` of the 150,000-staff preset:
28,115 rooms, the bot in all of them): per unit a space, "Thông tin điều hành",
"Trao đổi" and, for 54 % of units, "Tin tức"; 0.48 role groups per unit. Every room is
created by the bot (as provisioning does: it stays all-powerful there) with a name, a
topic and the ``vn.dieuhanh.room`` tag; spaces hold an ``m.space.child`` per room of their
unit. Members are sampled: ``members`` puppets invited and joined in each room but the
"Trao đổi" ones (joined on first use, so only the bot at provisioning), and a few of
those rooms get members who talk (the unrelated traffic of the benchmark).

The puppets belong to an appservice registered for the bench (no URL: Synapse pushes it
nothing; not rate-limited). The built data directory (Synapse's SQLite database, media
store and signing key, our config and secrets) is kept under ``/tmp/dieuhanh-citybot/``,
keyed by the room count, and copied for every run so each run starts from the same state.

    .venv/bin/python bench/city_fixture.py 2000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from dieuhanh.embedded import accounts  # noqa: E402
from dieuhanh.embedded.datadir import EmbeddedSetup, init_data_dir  # noqa: E402
from dieuhanh.embedded.ports import free_port  # noqa: E402
from dieuhanh.embedded.server import RunningSynapse, running_synapse  # noqa: E402
from provisioning.matrix.client import MatrixClient, q  # noqa: E402

CACHE = Path("/tmp/dieuhanh-citybot")
#: the bench appservice's token and its puppets' localpart prefix
AS_TOKEN = "citybot-bench-as-token"
PUPPET = "citym"
#: of 6,992 units in the city layout: 3,354 role groups in all (the 3,785 "Tin tức" rooms
#: of fixtures built before 2026-12 are gone: news is posted in "Thông tin điều hành")
ROLES_PER_UNIT = 3354 / 6992
#: "Trao đổi" rooms where people talk during the benchmark (their members joined)
TALKING_ROOMS, TALKERS = 50, 4


@dataclass
class Fixture:
    """What the benchmark needs to know of a built homeserver."""

    rooms: int
    members: int  # sampled members per (non-discussion) room
    build_seconds: float
    bot_user: str
    by_purpose: dict[str, list[str]] = field(default_factory=dict)
    talkers: dict[str, list[str]] = field(default_factory=dict)  # room id -> puppets in it
    units: int = 0
    pool: list[str] = field(default_factory=list)  # the puppets

    @property
    def made(self) -> int:
        """Rooms made (near ``rooms``: a unit's rooms are made together)."""
        return sum(len(ids) for ids in self.by_purpose.values())

    @property
    def root(self) -> Path:
        return fixture_root(self.rooms, self.members)


def fixture_root(rooms: int, members: int) -> Path:
    return CACHE / f"rooms-{rooms}-members-{members}"


def synapse_conf(setup: EmbeddedSetup) -> None:
    """Cheap hashing, and the bench's appservice beside the bridge's."""
    conf_d = setup.synapse.conf_d
    registration = {
        "id": "citybot-bench",
        "url": None,
        "as_token": AS_TOKEN,
        "hs_token": "citybot-bench-hs-token",
        "sender_localpart": "citybot-bench",
        "rate_limited": False,
        "namespaces": {"users": [{"exclusive": True, "regex": f"@{PUPPET}.*"}]},
    }
    path = setup.synapse.config_dir / "citybot-appservice.yaml"
    path.write_text(json.dumps(registration))
    files = [str(setup.data.appservice_path), str(path)]
    (conf_d / "bench.yaml").write_text(
        json.dumps({"bcrypt_rounds": 4, "app_service_config_files": files})
    )


def moved(root: Path) -> None:
    """A copied data directory's own paths (set once, when it was laid out) made its own."""
    path = root / "config.yaml"
    if not path.exists():
        return
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["database"]["url"] = f"sqlite:///{root.resolve() / 'directory.db'}"
    raw["sms"]["file_path"] = str(root.resolve() / "sms.jsonl")
    raw["bot"]["store_path"] = str(root.resolve() / "bot")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@contextlib.contextmanager
def started(root: Path) -> Iterator[RunningSynapse]:
    """The data directory at ``root`` (laid out if new) served on a free port."""
    moved(root)
    setup = init_data_dir(root, free_port())
    synapse_conf(setup)
    with running_synapse(setup) as running:
        yield running


def unit_plan(rooms: int, seed: int = 16) -> list[list[str]]:
    """Purposes per unit (space first) until ``rooms`` rooms, in the city's proportions."""
    rng, units, total = random.Random(seed), [], 0
    while total < rooms:
        purposes = ["announcements", "discussion"]
        purposes += ["role"] * (int(ROLES_PER_UNIT) + (rng.random() < ROLES_PER_UNIT % 1))
        purposes = purposes[: rooms - total - 1]
        units.append(purposes)
        total += len(purposes) + 1
    return units


async def register_puppets(client: MatrixClient, count: int) -> list[str]:
    """``count`` appservice users (fresh fixture: none exists yet)."""
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with sem:
            body = {"type": "m.login.application_service", "username": f"{PUPPET}{i}"}
            found = await client.request("POST", "/_matrix/client/v3/register", body)
            return found["user_id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def join(client: MatrixClient, room_id: str, user_id: str) -> None:
    """``user_id`` (a puppet, invited) joins, through the appservice."""
    await client.request(
        "POST", f"/_matrix/client/v3/join/{q(room_id)}", {}, params={"user_id": user_id}
    )


async def make_room(
    bot: MatrixClient, puppets: MatrixClient, key: str, purpose: str, members: list[str],
    extra: list[dict[str, Any]] | None = None,
) -> str:  # fmt: skip
    """One room as provisioning makes it (as the bot), its sampled members joined."""
    body: dict[str, Any] = {
        "preset": "private_chat",
        "name": f"{purpose} · {key}",
        "topic": f"Phòng {purpose} của đơn vị {key} (bench).",
        "initial_state": [
            {
                "type": "vn.dieuhanh.room",
                "state_key": "",
                "content": {"key": key, "unit": key.split("/")[1], "purpose": purpose},
            },
            *(extra or []),
        ],
        "power_level_content_override": {"events_default": 0 if purpose == "discussion" else 50},
        "invite": members,
    }
    if purpose == "space":
        body["creation_content"] = {"type": "m.space"}
    room_id = await bot.create_room(body)
    for user_id in members:
        await join(puppets, room_id, user_id)
    return room_id


async def make_unit(
    bot: MatrixClient, puppets: MatrixClient, index: int, purposes: list[str],
    sample: list[str], fixture: Fixture, talkers: list[str],
) -> None:  # fmt: skip
    """A unit's rooms, then its space holding them; ``talkers`` join its "Trao đổi"."""
    children = []
    for n, purpose in enumerate(purposes):
        key = f"unit/u{index}/{purpose}{n}"
        members = talkers if purpose == "discussion" else sample
        room_id = await make_room(bot, puppets, key, purpose, members)
        fixture.by_purpose.setdefault(purpose, []).append(room_id)
        if talkers and purpose == "discussion":
            fixture.talkers[room_id] = talkers
        children.append(room_id)
    child = [
        {"type": "m.space.child", "state_key": c, "content": {"via": ["bench"]}} for c in children
    ]
    space = await make_room(bot, puppets, f"unit/u{index}/space", "space", sample, child)
    fixture.by_purpose.setdefault("space", []).append(space)


async def bot_client(running: RunningSynapse) -> tuple[MatrixClient, str]:
    """The bot's account as provisioning leaves it, without rate limits; a client."""
    setup, base_url = running.setup, running.setup.synapse.base_url
    bot_user = f"@{setup.config.bot.localpart}:{setup.config.homeserver.server_name}"
    async with MatrixClient(base_url, running.admin.access_token) as admin:
        await admin.put_user(bot_user, {"displayname": setup.config.bot.display_name})
        await admin.lift_rate_limits(bot_user)
    session = accounts.login(base_url, setup.config.bot.localpart, setup.config.bot.password)
    return MatrixClient(base_url, session.access_token), bot_user


async def populate(running: RunningSynapse, fixture: Fixture) -> None:
    """Every unit's rooms not made yet, a few units at a time."""
    bot, fixture.bot_user = await bot_client(running)
    puppets = MatrixClient(running.setup.synapse.base_url, AS_TOKEN)
    if not fixture.pool:
        fixture.pool = await register_puppets(puppets, max(200, fixture.members * 20))
    units = unit_plan(fixture.rooms)[fixture.units :]
    rng, sem, first = random.Random(16 + fixture.units), asyncio.Semaphore(6), fixture.units

    async def one(index: int, purposes: list[str]) -> None:
        sample = rng.sample(fixture.pool, fixture.members)
        talkers = rng.sample(fixture.pool, TALKERS) if index < TALKING_ROOMS else []
        async with sem:
            await make_unit(bot, puppets, index, purposes, sample, fixture, talkers)
        if index % 100 == 0:
            print(f"  unit {index:,}: {fixture.made:,} rooms", flush=True)

    try:
        await asyncio.gather(*(one(first + i, p) for i, p in enumerate(units)))
        fixture.units = first + len(units)
        await bot.request("POST", "/_matrix/client/v3/logout", {})
    finally:
        await bot.close()
        await puppets.close()


def cached(members: int) -> list[Fixture]:
    """The fixtures built so far with this many members per room, smallest first."""
    found = []
    for path in CACHE.glob(f"rooms-*-members-{members}/fixture.json"):
        found.append(Fixture(**json.loads(path.read_text())))
    return sorted(found, key=lambda f: f.rooms)


def build(rooms: int, members: int) -> Fixture:
    """The cached fixture of this size, built first if need be (from a smaller one)."""
    root = fixture_root(rooms, members)
    if (root / "fixture.json").exists():
        return Fixture(**json.loads((root / "fixture.json").read_text()))
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    smaller = [f for f in cached(members) if f.rooms < rooms]
    fixture = Fixture(rooms, members, 0.0, "")
    if smaller:  # the same units first (unit_plan is stable), then the rest
        base = smaller[-1]
        shutil.copytree(base.root, building, symlinks=True)
        fixture = Fixture(**{**asdict(base), "rooms": rooms})
        print(f"from the {base.rooms:,}-room fixture ({base.build_seconds:.0f} s to build)")
    started_at = time.perf_counter()
    with started(building) as running:
        asyncio.run(populate(running, fixture))
    fixture.build_seconds += time.perf_counter() - started_at
    (building / "fixture.json").write_text(json.dumps(asdict(fixture)))
    building.rename(root)
    return fixture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rooms", type=int, nargs="+")
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    for rooms in args.rooms:
        fixture = build(rooms, args.members)
        counts = {k: len(v) for k, v in fixture.by_purpose.items()}
        print(
            f"{fixture.made:,} rooms built in {fixture.build_seconds:.0f} s: {counts} "
            f"at {fixture.root}"
        )


if __name__ == "__main__":
    main()
