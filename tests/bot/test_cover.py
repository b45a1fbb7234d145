"""Exact delivery planning, proved on random directories and audiences (hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.directives.cover import plan_delivery
from provisioning.demo import generate
from provisioning.matrix.layout import BOT, build_layout
from provisioning.view import DirectoryView, PersonView, UnitView
from provisioning.vocab import Level, Ownership, Position, UnitKind

people = st.integers(min_value=0, max_value=60).map(lambda i: f"@p{i}:x")


@st.composite
def directories(draw):
    """Random rooms over a random set of people, overlapping in every way."""
    universe = draw(st.sets(people, min_size=1, max_size=40))
    pool = sorted(universe)
    rooms = draw(
        st.dictionaries(
            st.text(alphabet="abcdef", min_size=1, max_size=4),
            st.sets(st.sampled_from(pool), max_size=15),
            max_size=25,
        )
    )
    audience = draw(st.sets(st.sampled_from(pool), max_size=len(pool)))
    return rooms, audience


def check(rooms: dict[str, set[str]], audience: set[str]) -> None:
    plan = plan_delivery(audience, rooms)
    reached = plan.reached()
    counts = Counter(reached)
    assert set(counts) == audience  # everyone, and nobody else
    assert all(n == 1 for n in counts.values())  # exactly once
    for key, members in plan.rooms.items():
        assert members == frozenset(rooms[key]) and members <= audience
    assert plan.events == len(plan.rooms) + len(plan.inboxes)


@settings(max_examples=400, deadline=None)
@given(directories())
def test_delivered_set_equals_audience_on_random_rooms(case):
    rooms, audience = case
    check(rooms, audience)


def _view() -> tuple[DirectoryView, dict[str, set[str]]]:
    """The "district" demo as provisioning lays it out: rooms and their members."""
    data = generate("district")
    units, codes = [], {}
    kinds = {
        "Sở": UnitKind.DEPARTMENT,
        "Cụm": UnitKind.CLUSTER,
        "Xã/Phường": UnitKind.COMMUNE,
        "Trường": UnitKind.SCHOOL,
        "Tổ": UnitKind.TEAM,
    }
    from provisioning import vocab

    for i, row in enumerate(data.units, start=1):
        codes[row[0]] = i
    for i, row in enumerate(data.units, start=1):
        units.append(
            UnitView(
                i,
                row[0],
                row[1],
                codes.get(row[2]),
                kinds[row[3]],
                vocab.parse(Level, row[4]) if row[4] else None,
                vocab.parse(Ownership, row[5]) if row[5] else None,
                None,
                None,
                True,
            )
        )
    persons: dict[str, PersonView] = {}
    for row in data.staff:
        person = persons.setdefault(
            row[0],
            PersonView(
                len(persons) + 1, row[0], row[1], row[1].lower(), None, None, None, None, True
            ),
        )
        person.positions.append((codes[row[4]], vocab.parse(Position, row[5])))
    view = DirectoryView(units, persons.values(), {})
    layout = build_layout(view)
    rooms = {
        key: {m for m in members if m != BOT}
        for key, members in layout.members.items()
        if key.startswith("role/") or key.endswith("/announcements")
    }
    return view, rooms


VIEW, LAYOUT_ROOMS = _view()
CODES = sorted(p.code for p in VIEW.people.values())


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.sets(st.sampled_from(CODES), max_size=400),
        # whole rooms and pieces of rooms: what directives usually target
        st.lists(st.sampled_from(sorted(LAYOUT_ROOMS)), max_size=12).flatmap(
            lambda keys: st.sets(st.sampled_from(CODES), max_size=30).map(
                lambda extra: extra.union(*(LAYOUT_ROOMS[k] for k in keys))
            )
        ),
    )
)
def test_delivered_set_equals_audience_on_provisioned_rooms(audience):
    check(LAYOUT_ROOMS, audience)


def test_a_whole_role_segment_takes_far_fewer_events_than_people():
    segment = set().union(*(m for k, m in LAYOUT_ROOMS.items() if "/teacher/" in k))
    plan = plan_delivery(segment, LAYOUT_ROOMS)
    check(LAYOUT_ROOMS, segment)
    # someone teaching in two schools is in one teacher group only, so the groups of a
    # role never overlap and every one of them is used: no inbox at all
    assert not plan.inboxes
    assert plan.events == sum(1 for k in LAYOUT_ROOMS if "/teacher/" in k)
    assert plan.events * 10 < len(segment)


def test_groups_of_one_role_never_overlap_even_for_people_in_two_schools():
    two_schools = [
        p
        for p in VIEW.people.values()
        if p.active and len({u for u, pos in p.positions if pos is Position.TEACHER}) > 1
    ]
    assert two_schools, "the demo directory should have teachers in two schools"
    for role in ("head", "deputy", "teacher", "staff"):
        seen = Counter(
            m
            for k, ms in LAYOUT_ROOMS.items()
            if k.startswith("role/") and f"/{role}/" in k
            for m in ms
        )
        assert all(n == 1 for n in seen.values()), role


def test_large_role_groups_split_by_school_and_still_cover_exactly():
    whole = build_layout(VIEW)
    split = build_layout(VIEW, max_role_group=40)
    big = {k: m for k, m in whole.members.items() if k.startswith("role/") and len(m) > 41}
    assert big
    for key, members in big.items():
        parts = {k: m for k, m in split.members.items() if k.startswith(key + "/")}
        assert parts  # split by a hash of the school: some parts may stay empty
        assert set().union(*parts.values()) == members  # the same people, bot included
        people = [m for p in parts.values() for m in p if m != BOT]
        assert len(people) == len(set(people))  # each in one part only
        if len(parts) > 1:
            assert all(split.rooms[k].name.endswith(f"/{len(parts)})") for k in parts)
    assert any(sum(1 for k in split.members if k.startswith(key + "/")) > 1 for key in big)
    # a segment is still covered exactly, with more (smaller) rooms
    rooms = {
        k: {m for m in ms if m != BOT} for k, ms in split.members.items() if k.startswith("role/")
    }
    segment = set().union(*(m for k, m in rooms.items() if "/teacher/" in k))
    check(rooms, segment)
