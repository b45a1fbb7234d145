"""The order of a plan (pure, no Synapse): accounts first with the bot's leading, then the
officials' rooms, then the rest; joins interleaved over rooms with the bot's first."""

from __future__ import annotations

import pytest

from provisioning.db import open_directory
from provisioning.importer import import_paths
from provisioning.matrix.layout import Layout, build_layout
from provisioning.matrix.mirror import AccountRow, Mirror
from provisioning.matrix.order import Priority, Tier, interleave, stages, tier_of
from provisioning.matrix.plan import PHASE_OF, Kind, Op, Plan, compute_plan
from provisioning.view import load_view

from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from .conftest import make_district

BOT = "@dieuhanh:x"
ROOM_KINDS = {Kind.CREATE_SPACE, Kind.CREATE_ROOM, Kind.LINK_SPACE_CHILD, Kind.JOIN}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Layout]:
    """The first plan of the tests' small district, with a deputy principal added."""
    folder = tmp_path_factory.mktemp("order")
    d = make_district("")
    d.staff.append(["pht1", "Đỗ Thị Thu", "0987650001", "", "thcs1", "Phó Hiệu trưởng"] + [""] * 4)
    engine = open_directory(f"sqlite:///{folder / 'directory.db'}")
    import_paths(
        engine,
        [
            write_csv(folder / "don_vi.csv", UNIT_HEADER, d.units),
            write_csv(folder / "nhan_su.csv", STAFF_HEADER, d.staff),
        ],
    )
    layout = build_layout(load_view(engine))
    engine.dispose()
    plan = compute_plan(
        layout,
        Mirror(),
        server_name="x",
        bot_user_id=BOT,
        admin_user_id="@admin:x",
        bot_exists=False,
        localpart_base=lambda name: "".join(c for c in name.lower() if c.isascii()) or "u",
    )
    return plan, layout


def test_officials_rooms_are_the_offices_the_leaders_groups_and_the_spaces_above(planned):
    _, layout = planned
    first = layout.first
    for unit in ("so", "xa"):  # the managing units: every room of theirs
        for purpose in ("space", "announcements", "discussion"):
            assert f"unit/{unit}/{purpose}" in first
    heads = {k for k in layout.rooms if k.startswith(("role/so/head/", "role/xa/head/"))}
    deputies = {k for k in layout.rooms if k.startswith("role/xa/deputy/")}
    assert heads and deputies and heads | deputies <= first
    assert not any("/teacher/" in k or "/staff/" in k for k in first)
    assert not any(k.startswith(("unit/thcs1/", "unit/toan/")) for k in first)
    assert Priority.of(layout).people == {"gd", "tp", "cv", "ht1", "ht2", "ht3", "ht4", "pht1"}


def test_accounts_come_first_the_bots_then_the_officials(planned):
    plan, _ = planned
    kinds = [op.kind for op in plan.ops]
    assert kinds[0] is Kind.CREATE_BOT
    last_account = max(i for i, k in enumerate(kinds) if k is Kind.CREATE_USER)
    assert all(k not in ROOM_KINDS for k in kinds[: last_account + 1])
    people = [op.person for op in plan.ops if op.kind is Kind.CREATE_USER]
    leaders = {"gd", "tp", "cv", "ht1", "ht2", "ht3", "ht4", "pht1"}
    assert set(people[: len(leaders)]) == leaders


def test_officials_rooms_and_joins_come_before_any_school_room(planned):
    plan, layout = planned
    priority = Priority.of(layout)
    tiers = [tier_of(op, priority) for op in plan.ops]
    assert tiers == sorted(tiers)  # tier after tier
    officials = [op for op, tier in zip(plan.ops, tiers, strict=True) if tier is Tier.OFFICIALS]
    assert {op.room for op in officials if op.kind is Kind.CREATE_ROOM} <= layout.first
    joined = {(op.room, op.person) for op in officials if op.kind is Kind.JOIN}
    head_rooms = {k for k in layout.first if "/head/" in k}
    assert {("unit/xa/announcements", "tp")} | {(k, None) for k in head_rooms} <= joined
    assert all(person in priority.people or person is None for _, person in joined)
    # teachers join the xã's space with the rest, after the officials' rooms are done
    rest = plan.ops[len(officials) + tiers.count(Tier.ACCOUNTS) :]
    assert (Kind.JOIN, "unit/xa/space", "gv1") in {(op.kind, op.room, op.person) for op in rest}


def test_within_a_stage_phases_keep_their_order_and_joins_alternate_rooms(planned):
    plan, layout = planned
    seen = [stage for stage, _ in stages(plan.ops, Priority.of(layout))]
    assert seen == sorted(seen) and len(seen) == len(set(seen))  # each stage once, in order
    for (_, phase), ops in stages(plan.ops, Priority.of(layout)):
        assert {PHASE_OF[op.kind] for op in ops} == {phase}
        if ops[0].kind is not Kind.JOIN:
            continue
        rooms = {op.room for op in ops}
        head = [op.room for op in ops[: len(rooms)]]
        assert len(set(head)) == len(rooms)  # one join of every room before a second
        bots = {op.room for op in ops if op.user_id == BOT}  # the bot's join, first of its room
        assert bots == {op.room for op in ops[: len(rooms)] if op.user_id == BOT}
        assert bots  # every room gets the bot: most in the officials' stage


def test_interleave_round_robin_longest_room_first():
    def join(room: str, user: str) -> Op:
        return Op(Kind.JOIN, room=room, user_id=user, person=None if user == BOT else user)

    ops = [join("a", "@1"), join("a", "@2"), join("b", "@3"), join("b", BOT)]
    ops += [join("b", "@4"), join("c", "@5")]
    assert [(op.room, op.user_id) for op in interleave(ops, BOT)] == [
        ("b", BOT),
        ("a", "@1"),
        ("c", "@5"),
        ("b", "@3"),
        ("a", "@2"),
        ("b", "@4"),
    ]
    assert interleave([], BOT) == []


def test_resumed_after_the_accounts_the_plan_starts_with_the_officials_rooms(planned):
    """An apply stopped once the accounts were made: the next plan goes on where it was."""
    plan, layout = planned
    mirror = Mirror(bot_user_id=BOT)
    for op in plan.ops:
        if op.kind is Kind.CREATE_USER:
            spec = layout.accounts[op.person]
            mirror.accounts[op.person] = AccountRow(
                spec.person_id, op.person, op.user_id, True, op.value, op.phone, False
            )
    again = compute_plan(
        layout,
        mirror,
        server_name="x",
        bot_user_id=BOT,
        admin_user_id="@admin:x",
        bot_exists=True,
        localpart_base=lambda name: "u",
    )
    assert again.ops == [
        op for op in plan.ops if op.kind not in (Kind.CREATE_USER, Kind.CREATE_BOT)
    ]
    assert tier_of(again.ops[0], Priority.of(layout)) is Tier.OFFICIALS
