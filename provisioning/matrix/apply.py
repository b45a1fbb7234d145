"""Carry out a plan on Synapse, phase by phase, recording each success in the mirror.

Every operation is idempotent, so an apply killed at any point is simply run again:
rooms are created with a deterministic alias (a second creation answers M_ROOM_IN_USE
and the existing room is adopted), accounts are reserved in the mirror before Synapse
creates them and are found again by their external id, joins and kicks of someone
already in or out succeed. A permanent error on one operation is reported and the
rest goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from provisioning.bulk import cyclic_gc_paused
from provisioning.config import ProvisioningSettings
from provisioning.families.view import load_families
from provisioning.matrix.client import MatrixClient, MatrixError
from provisioning.matrix.estimate import (
    Rates,
    StageTiming,
    estimate,
    load_rates,
    measured_rates,
    merged,
    save_rates,
)
from provisioning.matrix.family_layout import add_families
from provisioning.matrix.layout import (
    NEWS_POSTED_IN,
    TAG_EVENT,
    Layout,
    RoomSpec,
    build_layout,
    localpart_base,
)
from provisioning.matrix.lock import apply_lock
from provisioning.matrix.mirror import (
    ADMIN_KEY,
    BOT_KEY,
    AccountRow,
    Mirror,
    MirrorWriter,
    RoomRow,
    applied_revision,
    get_state,
    load_mirror,
    set_applied,
    set_state,
)
from provisioning.matrix.order import Priority, room_queues, stages
from provisioning.matrix.person_joins import PersonJoins
from provisioning.matrix.plan import (
    FAMILY_ROOM_PREFIXES,
    Kind,
    Op,
    Phase,
    Plan,
    compute_plan,
    digest,
    power_content,
)
from provisioning.matrix.retire import Retirement, retire_room
from provisioning.view import load_view

log = logging.getLogger(__name__)

#: auth_provider of the external id that ties an account to its person (Mã định danh)
EXTERNAL_PROVIDER = "dieuhanh"
FLUSH_EVERY = 200
#: ... or after this many seconds: the bot reads new accounts and memberships from the
#: mirror, so someone who can log in is known to it within about a second
FLUSH_SECONDS = 1.0
#: How long adopting a room waits for Synapse to finish a killed apply's createRoom.
ADOPT_WAIT_SECONDS = 15.0


class MassRemovalRefused(RuntimeError):
    """The plan removes more than the configured share; nothing was changed but the
    deactivation of confirmed departures, which ``result`` reports."""

    def __init__(self, reason: str, result: ApplyResult | None = None) -> None:
        super().__init__(reason)
        self.result = result if result is not None else ApplyResult()


@dataclass
class Failure:
    op: Op
    error: str


@dataclass
class ApplyResult:
    done: int = 0
    failures: list[Failure] = field(default_factory=list)
    adopted: int = 0
    passes: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    timings: list[StageTiming] = field(default_factory=list)  # of every stage run


Progress = Callable[[Op], None]


@dataclass
class Context:
    """Everything the planner and the executor need about the homeserver's identities."""

    server_name: str
    bot_user_id: str
    admin_user_id: str


def bot_user_id(config: ProvisioningSettings) -> str:
    return config.service_users.bot_user_id(config.homeserver.server_name)


def make_plan(engine: Engine, config: ProvisioningSettings, admin_user_id: str | None = None):
    """The plan from the directory and the mirror alone (no HTTP call).

    Returns (plan, layout, mirror, context). The admin's user id is the one recorded by
    the last apply unless given (``plan`` never asks Synapse).
    """
    with cyclic_gc_paused():
        view = load_view(engine)
        layout = build_layout(view)
        add_families(
            layout,
            view,
            load_families(engine),
            config.provisioning.families.students_in_class_rooms,
        )
        mirror = load_mirror(engine)
    server = config.homeserver.server_name
    ctx = Context(
        server,
        bot_user_id(config),
        admin_user_id or mirror.admin_user_id or f"@quantri:{server}",
    )
    with cyclic_gc_paused():
        plan = compute_plan(
            layout,
            mirror,
            server_name=ctx.server_name,
            bot_user_id=ctx.bot_user_id,
            admin_user_id=ctx.admin_user_id,
            bot_exists=mirror.bot_user_id == ctx.bot_user_id,
            localpart_base=localpart_base,
        )
    return plan, layout, mirror, ctx


async def apply(
    engine: Engine,
    config: ProvisioningSettings,
    *,
    allow_mass_removal: bool = False,
    wait: bool = False,
    concurrency: int = 16,
    max_removal_share: float = 0.10,
    progress: Callable[[Plan], Progress] | None = None,
) -> ApplyResult:
    """Plan and apply until nothing is left to do (at most three passes).

    People the directory marks departed are deactivated first, whatever the rest: the
    import that marked them had its own guard. The mass-removal guard then judges the
    rest of the plan and may refuse it (MassRemovalRefused, carrying what was done).
    """
    started = time.monotonic()
    result = ApplyResult()
    admin_token = config.homeserver.resolve_admin_token()
    async with MatrixClient(config.homeserver.url, admin_token) as client:
        admin = await client.whoami()
        async with apply_lock(engine, config.homeserver.server_name, wait=wait):
            revision = load_view(engine).revision
            await client.lift_rate_limits(admin)
            set_state(engine, ADMIN_KEY, admin)
            server = config.homeserver.server_name
            rates = load_rates(engine, server)
            run = _Run(client, engine, config, admin, concurrency, progress, result, rates)
            planned = await run.departures()
            for pass_no in range(3):
                plan, layout, mirror, ctx = planned or make_plan(engine, config, admin)
                planned = None
                if pass_no == 0 and not allow_mass_removal:
                    reason = plan.mass_removal(max_removal_share)
                    if reason:
                        result.seconds = time.monotonic() - started
                        raise MassRemovalRefused(reason, result)
                if not plan.ops:
                    break
                executor = await run.execute(plan, layout, mirror, ctx)
                if executor.failures and not executor.adopted:
                    break  # the same errors would come back; report them
            if not result.failures:
                set_applied(engine, revision)
            measured = measured_rates(result.timings)
            if measured:  # for the next estimate (small applies measure nothing)
                save_rates(engine, server, merged(rates, measured, dt.datetime.now(dt.UTC)))
    result.seconds = time.monotonic() - started
    return result


async def deactivate_departures(
    engine: Engine, config: ProvisioningSettings, *, concurrency: int = 16
) -> ApplyResult:
    """Deactivate (and so log out everywhere) the accounts of people marked departed,
    nothing else; what ``dieuhanh import`` runs right after marking them.

    Raises ApplyLocked when another apply runs (its next pass, or the next apply, will).
    """
    started = time.monotonic()
    result = ApplyResult()
    async with MatrixClient(config.homeserver.url, config.homeserver.admin_token) as client:
        admin = await client.whoami()
        async with apply_lock(engine, config.homeserver.server_name):
            run = _Run(client, engine, config, admin, concurrency, None, result, Rates())
            await run.departures()
    result.seconds = time.monotonic() - started
    return result


@dataclass
class _Run:
    """One apply's executions, adding up into ``result``."""

    client: MatrixClient
    engine: Engine
    config: ProvisioningSettings
    admin: str
    concurrency: int
    progress: Callable[[Plan], Progress] | None
    result: ApplyResult
    rates: Rates  # for the estimate each plan carries to ``progress``

    async def departures(self) -> tuple[Plan, Layout, Mirror, Context] | None:
        """Deactivate departed people's accounts; the plan still valid afterwards, if any."""
        planned = make_plan(self.engine, self.config, self.admin)
        plan, layout, mirror, ctx = planned
        departures = plan.departures_only()
        if not departures.ops:
            return planned
        await self.execute(departures, layout, mirror, ctx)
        log.info("deactivated %d departed people's accounts first", departures.total)
        return None  # the mirror changed: plan again

    async def execute(self, plan: Plan, layout: Layout, mirror: Mirror, ctx: Context) -> Executor:
        result = self.result
        result.passes += 1
        for kind, n in plan.counts().items():
            result.counts[kind] = result.counts.get(kind, 0) + n
        with cyclic_gc_paused():  # a city's million operations, a million objects alive
            plan.estimate = estimate(plan.ops, Priority.of(layout), ctx.bot_user_id, self.rates)
        executor = Executor(
            self.client,
            self.engine,
            self.config,
            ctx,
            layout,
            mirror,
            plan,
            self.concurrency,
            self.progress(plan) if self.progress else None,
        )
        await executor.run()
        result.done += executor.done
        result.adopted += executor.adopted
        result.failures.extend(executor.failures)
        result.timings.extend(executor.timings)
        return executor


class Executor:
    def __init__(
        self,
        client: MatrixClient,
        engine: Engine,
        config: ProvisioningSettings,
        ctx: Context,
        layout: Layout,
        mirror: Mirror,
        plan: Plan,
        concurrency: int,
        progress: Progress | None,
    ) -> None:
        self.client, self.config, self.ctx = client, config, ctx
        self.layout, self.mirror, self.plan = layout, mirror, plan
        self.writer = MirrorWriter(engine)
        # joins as the person where workers serve the client API (person_joins)
        self.joins = PersonJoins(client) if config.homeserver.workers else None
        self.semaphore = asyncio.Semaphore(concurrency)
        self.progress = progress
        self.user_of = dict(plan.user_of)
        self.claimed = mirror.user_ids() | set(plan.user_of.values())
        self.done = 0
        self.adopted = 0
        self.failures: list[Failure] = []
        self.timings: list[StageTiming] = []  # each stage's work and time (measured rates)
        self.flushed = time.monotonic()  # when the mirror was last written

    # ---------------------------------------------------------------- driving

    async def run(self) -> None:
        """The plan's stages one after the other (``order.stages``), each all at once."""
        try:
            for (_, phase), ops in stages(self.plan.ops, Priority.of(self.layout)):
                started = time.monotonic()
                if phase is Phase.ACCOUNTS:
                    self._reserve_accounts(ops)
                if phase is Phase.JOINS:
                    await self._per_room(ops)
                else:
                    await asyncio.gather(*(self._guarded(op) for op in ops))
                self.writer.flush()
                self.timings.append(StageTiming.of(ops, time.monotonic() - started))
        finally:
            self.writer.flush()
            if self.joins:
                await self.joins.close()

    async def _per_room(self, ops: list[Op]) -> None:
        """Joins into one room are serialised by Synapse anyway: one queue per room, the
        longest first (they decide when the stage ends); waiting on the semaphore, the
        queues take turns, so every room with joins left progresses."""

        async def drain(queue: list[Op]) -> None:
            for op in queue:
                await self._guarded(op)

        await asyncio.gather(*(drain(q) for q in room_queues(ops, self.ctx.bot_user_id)))

    async def _guarded(self, op: Op) -> None:
        async with self.semaphore:
            try:
                await self._do(op)
            except MatrixError as exc:
                log.warning("%s failed: %s", op.kind.value, exc)
                self.failures.append(Failure(op, str(exc)))
            except _Skip as exc:
                self.failures.append(Failure(op, str(exc)))
            except Exception as exc:  # a bug must not stop the other operations
                log.exception("%s on %s failed", op.kind.value, op.room or op.user_id)
                self.failures.append(Failure(op, f"lỗi nội bộ: {exc!r}"))
        self.done += 1
        if self.progress:
            self.progress(op)
        if len(self.writer) >= FLUSH_EVERY or (
            len(self.writer) and time.monotonic() - self.flushed >= FLUSH_SECONDS
        ):
            self.writer.flush()
            self.flushed = time.monotonic()

    async def _do(self, op: Op) -> None:
        handler = getattr(self, f"_{op.kind.value}")
        await handler(op)

    # ---------------------------------------------------------------- rooms

    def room_id(self, key: str) -> str:
        row = self.mirror.rooms.get(key)
        if row is None or row.room_id is None:
            raise _Skip(f"phòng {key} chưa được tạo")
        return row.room_id

    async def _create_space(self, op: Op) -> None:
        await self._create(self.layout.rooms[op.room])

    async def _create_room(self, op: Op) -> None:
        await self._create(self.layout.rooms[op.room])

    async def _create(self, spec: RoomSpec) -> None:
        power = power_content(spec.power, self.user_of, self.ctx.bot_user_id)
        parent = self.room_id(spec.parent_key) if spec.join_rule == "restricted" else None
        row = room_row(spec)
        try:
            row.room_id = await self.client.create_room(create_room_body(spec, power, parent))
            row.name, row.power_digest = spec.name, digest(power)
            members = {self.ctx.admin_user_id}
        except MatrixError as exc:
            if exc.errcode != "M_ROOM_IN_USE":
                raise
            row.room_id, members = await self._adopt(spec)
        self.mirror.rooms[spec.key] = row
        self.writer.room(row)
        self.mirror.members[spec.key] = set(members)
        self.writer.members(spec.key, set(members))

    async def _adopt(self, spec: RoomSpec) -> tuple[str, set[str]]:
        """The room already exists (a killed apply, a lost mirror): take it back as it is."""
        alias = f"#{spec.alias}:{self.ctx.server_name}"
        room_id = await self.client.resolve_alias(alias)
        if room_id is None:
            raise _Skip(f"bí danh {alias} vừa bị chiếm rồi biến mất; chạy lại apply")
        tag = await self._adopted_tag(room_id)
        if not tag or tag.get("key") != spec.key:
            raise _Skip(f"bí danh {alias} thuộc một phòng khác (thẻ {tag!r}); không dùng lại")
        self.adopted += 1
        log.info("adopted existing room %s for %s", room_id, spec.key)
        # name, power and links are unknown: the next pass sets them again (idempotent)
        return room_id, await self.client.members(room_id)

    async def _adopted_tag(self, room_id: str) -> dict | None:
        """The room's tag; while a killed apply's createRoom is still being carried out by
        Synapse (the alias is taken first, the creator's join persisted after), reading it
        is refused ("not in room"): wait for it, up to ADOPT_WAIT_SECONDS."""
        deadline = time.monotonic() + ADOPT_WAIT_SECONDS
        while True:
            try:
                return await self.client.get_state(room_id, TAG_EVENT)
            except MatrixError as exc:
                if exc.status != 403 or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _link_space_child(self, op: Op) -> None:
        child, parent = self.room_id(op.room), self.room_id(op.value)
        via = {"via": [self.ctx.server_name]}
        await self.client.put_state(parent, "m.space.child", {**via, "suggested": True}, child)
        await self.client.put_state(child, "m.space.parent", {**via, "canonical": True}, parent)
        row = self.mirror.rooms[op.room]
        row.parent_key = op.value
        self.writer.room(row)

    async def _rename_room(self, op: Op) -> None:
        await self.client.put_state(self.room_id(op.room), "m.room.name", {"name": op.value})
        row = self.mirror.rooms[op.room]
        row.name = op.value
        self.writer.room(row)

    async def _set_power_levels(self, op: Op) -> None:
        spec = self.layout.rooms[op.room]
        content = power_content(spec.power, self.user_of, self.ctx.bot_user_id)
        want = digest(content)
        room_id = self.room_id(op.room)
        row = self.mirror.rooms[op.room]
        if row.power_digest == want:
            return  # set when the room was created in this run
        ghosts = f"@{self.config.service_users.portal_prefix}"
        if spec.purpose is NEWS_POSTED_IN:
            # the bridge gives its portal ghosts power to post news: keep them
            current = await self.client.get_state(room_id, "m.room.power_levels") or {}
            for user_id, level in (current.get("users") or {}).items():
                if user_id.startswith(ghosts) and user_id not in content["users"]:
                    content["users"][user_id] = level
        await self.client.put_state(room_id, "m.room.power_levels", content)
        row.power_digest = want
        self.writer.room(row)

    async def _retire_room(self, op: Op) -> None:
        """Lock the room, point it to its replacement, take it out of its space; then the
        mirror forgets it (``retire.py``). Never created: only forgotten."""
        assert op.room is not None
        row = self.mirror.rooms[op.room]
        if row.room_id is not None:
            replacement = self.layout.rooms.get(op.value) if op.value else None
            retirement = Retirement(
                key=op.room,
                room_id=row.room_id,
                space_id=self._known_room_id(row.parent_key),
                replacement_id=self._known_room_id(op.value),
                replacement_topic=replacement.topic if replacement else None,
            )
            await retire_room(self.client, retirement, self.ctx.server_name)
        self.writer.forget_room(op.room)
        del self.mirror.rooms[op.room]
        self.mirror.members.pop(op.room, None)

    def _known_room_id(self, key: str | None) -> str | None:
        row = self.mirror.rooms.get(key) if key else None
        return row.room_id if row is not None else None

    def user(self, op: Op) -> str:
        """The op's user id, as created (a foreign account may have moved it)."""
        assert op.user_id is not None
        return self.user_of.get(op.person, op.user_id) if op.person else op.user_id

    async def _join(self, op: Op) -> None:
        user_id = self.user(op)
        if self.joins:
            await self.joins.join(self.room_id(op.room), user_id)
        else:
            await self.client.force_join(self.room_id(op.room), user_id)
        self.mirror.members[op.room].add(user_id)
        self.writer.joined(op.room, user_id)

    async def _leave(self, op: Op) -> None:
        family = (op.room or "").startswith(FAMILY_ROOM_PREFIXES)
        reason = (
            "Không còn con theo học lớp hoặc trường này theo danh bạ"
            if family
            else "Không còn thuộc đơn vị hoặc nhóm này theo danh bạ"
        )
        await self.client.kick(self.room_id(op.room), op.user_id, reason)
        self.mirror.members[op.room].discard(op.user_id)
        self.writer.left(op.room, op.user_id)

    # ---------------------------------------------------------------- accounts

    def _reserve_accounts(self, ops: list[Op]) -> None:
        """Write new accounts' user ids before creating them, so a rerun reuses them."""
        for op in ops:
            if op.kind is Kind.CREATE_USER and op.person not in self.mirror.accounts:
                spec = self.layout.accounts[op.person]
                row = AccountRow(spec.person_id, op.person, op.user_id, False, None, None, False)
                self.mirror.accounts[op.person] = row
                self.writer.account(row)
        self.writer.flush()

    async def _create_bot(self, op: Op) -> None:
        assert op.user_id is not None
        await create_bot(self.client, self.writer.engine, self.config, op.user_id)

    async def _create_user(self, op: Op) -> None:
        assert op.person is not None and op.user_id is not None
        row = self.mirror.accounts[op.person]
        user_id = await self.client.user_by_external_id(EXTERNAL_PROVIDER, op.person)
        if user_id is not None and user_id != row.user_id:
            self.adopted += 1  # the mirror was lost: the account already exists
        elif user_id is None:
            user_id = row.user_id
            found = await self.client.get_user(user_id)
            while found is not None and not _ours(found, op.person):
                # someone else's account holds this localpart: take the next free one
                base = user_id[1:].split(":")[0].rstrip("0123456789")
                user_id = _next_free(base, self.claimed, self.ctx.server_name)
                found = await self.client.get_user(user_id)
                self.adopted += 1  # rooms planned with the old id: plan again after
        body: dict[str, Any] = {
            "displayname": op.value,
            "external_ids": [{"auth_provider": EXTERNAL_PROVIDER, "external_id": op.person}],
            "deactivated": False,
        }
        if op.phone:
            body["threepids"] = [{"medium": "msisdn", "address": op.phone.lstrip("+")}]
        await self.client.put_user(user_id, body)
        row.user_id, row.created, row.displayname, row.deactivated = user_id, True, op.value, False
        row.phone = op.phone
        self.user_of[op.person] = user_id
        self.writer.account(row)

    async def _reactivate_user(self, op: Op) -> None:
        await self.client.put_user(
            op.user_id,
            {
                "deactivated": False,
                "displayname": op.value,
                "external_ids": [{"auth_provider": EXTERNAL_PROVIDER, "external_id": op.person}],
            },
        )
        row = self.mirror.accounts[op.person]
        row.deactivated, row.displayname, row.phone = False, op.value, None
        self.writer.account(row)

    async def _update_displayname(self, op: Op) -> None:
        await self.client.put_user(op.user_id, {"displayname": op.value})
        row = self.mirror.accounts[op.person]
        row.displayname = op.value
        self.writer.account(row)

    async def _remove_phone(self, op: Op) -> None:
        await self.client.put_user(op.user_id, {"threepids": []})
        row = self.mirror.accounts[op.person]
        row.phone = None
        self.writer.account(row)

    async def _set_phone(self, op: Op) -> None:
        assert op.value is not None
        user_id = self.user(op)
        await self.client.put_user(
            user_id, {"threepids": [{"medium": "msisdn", "address": op.value.lstrip("+")}]}
        )
        row = self.mirror.accounts[op.person]
        row.phone = op.value
        self.writer.account(row)

    async def _deactivate_user(self, op: Op) -> None:
        await self.client.deactivate(op.user_id)
        row = self.mirror.accounts[op.person]
        row.deactivated, row.phone = True, None
        self.writer.account(row)
        for members in self.mirror.members.values():
            members.discard(op.user_id)
        self.writer.left_everywhere(op.user_id)


async def create_bot(
    client: MatrixClient, engine: Engine, config: ProvisioningSettings, user_id: str
) -> None:
    """The bot's account, its rate limits lifted (it makes inboxes and sends directives).

    No password here: the bot logs in as a service account of the phone-login module.
    """
    body: dict[str, Any] = {"displayname": config.service_users.bot_display_name}
    await client.put_user(user_id, body)
    await client.lift_rate_limits(user_id)
    set_state(engine, BOT_KEY, user_id)


async def ensure_bot(engine: Engine, config: ProvisioningSettings) -> bool:
    """Create the bot's account now unless an apply did: ``dieuhanh up`` starts the bot
    after this, so that it logs in at once instead of waiting for the first apply.
    True when it was created."""
    user_id = bot_user_id(config)
    if get_state(engine, BOT_KEY) == user_id:
        return False
    admin_token = config.homeserver.resolve_admin_token()
    async with MatrixClient(config.homeserver.url, admin_token) as client:
        await create_bot(client, engine, config, user_id)
    return True


def create_room_body(
    spec: RoomSpec, power: dict[str, Any], restricted_to: str | None = None
) -> dict[str, Any]:
    """The createRoom request for a managed room: its tag, alias, power and join rule."""
    initial: list[dict[str, Any]] = [
        {"type": TAG_EVENT, "state_key": "", "content": spec.tag()},
        {"type": "m.room.guest_access", "content": {"guest_access": "forbidden"}},
    ]
    if spec.join_rule == "public":
        initial.append({"type": "m.room.join_rules", "content": {"join_rule": "public"}})
    elif spec.join_rule == "restricted" and restricted_to:
        initial.append(
            {
                "type": "m.room.join_rules",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": restricted_to}],
                },
            }
        )
    body: dict[str, Any] = {
        "name": spec.name,
        "topic": spec.topic,
        "preset": "private_chat",  # invite-only, history shared with members
        "room_alias_name": spec.alias,
        "power_level_content_override": power,
        "initial_state": initial,
    }
    if spec.is_space:
        body["creation_content"] = {"type": "m.space"}
    return body


def room_row(spec: RoomSpec) -> RoomRow:
    return RoomRow(
        spec.key,
        None,
        spec.purpose.value,
        spec.unit_code,
        spec.role.value if spec.role else None,
        spec.level.value if spec.level else None,
        spec.ownership.value if spec.ownership else None,
    )


class _Skip(RuntimeError):
    """An operation that cannot be carried out now; reported like an error."""


def _ours(user: dict[str, Any], person_code: str) -> bool:
    return any(
        e.get("auth_provider") == EXTERNAL_PROVIDER and e.get("external_id") == person_code
        for e in user.get("external_ids") or ()
    )


def _next_free(base: str, claimed: set[str], server_name: str) -> str:
    n = 2
    while f"@{base}{n}:{server_name}" in claimed:
        n += 1
    user_id = f"@{base}{n}:{server_name}"
    claimed.add(user_id)
    return user_id


def needs_apply(engine: Engine) -> bool:
    """True when the directory changed since the last successful apply."""
    return applied_revision(engine) != load_view(engine).revision  # or the layout changed
