"""Families provisioned into the real Synapse: accounts logging in with phone + code,
class and parents rooms, moves, departures, and who finds whom in the user search."""

from __future__ import annotations

import secrets

import pytest

from provisioning.importer import import_paths
from provisioning.matrix.client import q
from provisioning.matrix.mirror import load_mirror

from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv
from ..directory.families import CLASS_HEADER, STUDENT_HEADER, YEAR, query, student
from ..identity.test_login import code_for, login
from ..waiting import eventually
from .conftest import World, _runs


class Families:
    """A test's classes and students on top of its district, with fresh phones."""

    def __init__(self, world: World) -> None:
        self.world = world
        d = world.district
        base = 920_000_000 + secrets.randbelow(70_000_000)
        self.hoa, self.dung = f"0{base}", f"0{base + 1}"
        self.classes = [
            [d.u("thcs1"), YEAR, "6A1", "6", d.p("gv1")],
            [d.u("thcs1"), YEAR, "6A2", "6", d.p("gv2")],
            [d.u("thcs2"), YEAR, "7B", "7", d.p("gv3")],
        ]
        hoa, dung = ("Trần Thị Hoa", self.hoa), ("Lê Văn Dũng", self.dung)
        self.students = [
            student(d.p("S1"), "Nguyễn Minh An", d.u("thcs1"), "6A1", mother=hoa),
            student(d.p("S2"), "Nguyễn Minh Bảo", d.u("thcs2"), "7B", mother=hoa),
            student(d.p("S3"), "Lê Thị Cúc", d.u("thcs1"), "6A2", guardian=dung),
            # a child of the school's accountant: her staff number, her staff account
            student(d.p("S4"), "Đặng Gia Huy", d.u("thcs1"), "6A2", mother=("", d.row("nv1")[2])),
        ]

    def load(self) -> None:
        w, d = self.world, self.world.district
        folder = w.folder / f"families{next(_runs)}"
        result = import_paths(
            w.engine,
            [
                write_csv(folder / "don_vi.csv", UNIT_HEADER, d.units),
                write_csv(folder / "nhan_su.csv", STAFF_HEADER, d.staff),
                write_csv(folder / "lop.csv", CLASS_HEADER, self.classes),
                write_csv(folder / "hoc_sinh.csv", STUDENT_HEADER, self.students),
            ],
        )
        assert not [r for r in result.reports if r.rejected], result.report_lines()

    def row(self, code: str) -> list[str]:
        return next(r for r in self.students if r[0] == self.world.district.p(code))

    def user_id(self, phone: str) -> str:
        return load_mirror(self.world.engine).accounts[f"family:+84{phone[1:]}"].user_id

    def class_room(self, unit: str, name: str) -> str:
        (class_id,) = query(
            self.world.engine,
            "SELECT c.id FROM classes c JOIN units u ON u.id = c.unit_id "
            "WHERE u.code = :u AND c.name = :n",
            u=self.world.district.u(unit),
            n=name,
        )[0]
        return self.world.room_id(f"class/{class_id}")

    def parents_room(self, unit: str) -> str:
        return self.world.room_id(f"parents/{self.world.district.u(unit)}")


@pytest.fixture
def families(world: World) -> Families:
    fam = Families(world)
    fam.load()
    world.apply()
    return fam


def token_of(world: World, user_id: str) -> str:
    return world.synapse.api("POST", f"/_synapse/admin/v1/users/{q(user_id)}/login", {})[
        "access_token"
    ]


def search(world: World, token: str, term: str) -> set[str]:
    found = world.synapse.api(
        "POST", "/_matrix/client/v3/user_directory/search", {"search_term": term, "limit": 500},
        token=token,
    )  # fmt: skip
    return {r["user_id"] for r in found["results"]}


def test_parent_of_two_schools_logs_in_and_is_in_both_class_and_parents_rooms(world, families):
    hoa = families.user_id(families.hoa)
    assert hoa.startswith("@tranthihoa")  # from the name, never the phone
    assert world.user(hoa)["displayname"] == "Trần Thị Hoa · PH em An 6A1, em Bảo 7B"
    phone = "+84" + families.hoa[1:]
    status, body = login(
        world.synapse,
        {"type": "m.id.phone", "country": "VN", "number": families.hoa},
        code_for(world.synapse, phone),
    )
    assert status == 200 and body["user_id"] == hoa, body
    joined = set(
        world.synapse.api("GET", "/_matrix/client/v3/joined_rooms", token=body["access_token"])[
            "joined_rooms"
        ]
    )
    wanted = {
        families.class_room("thcs1", "6A1"),
        families.class_room("thcs2", "7B"),
        families.parents_room("thcs1"),
        families.parents_room("thcs2"),
    }
    assert joined == wanted
    # the rooms: names, invite-only, outside the spaces, homeroom teacher moderator
    a1 = families.class_room("thcs1", "6A1")
    assert world.state(a1, "m.room.name")["name"] == "Lớp 6A1 · THCS Đỗ Văn Dậy"
    assert world.state(a1, "m.room.join_rules")["join_rule"] == "invite"
    power = world.state(a1, "m.room.power_levels")
    assert power["users"][world.user_id("gv1")] == 50 and power["events_default"] == 0
    assert world.members(a1) - {world.synapse.admin_user_id} == {
        hoa,
        world.user_id("gv1"),
        f"@{world.config.bot.localpart}:{world.synapse.server_name}",
    }
    school = families.parents_room("thcs1")
    assert world.state(school, "m.room.name")["name"] == "Phụ huynh · THCS Đỗ Văn Dậy"
    power = world.state(school, "m.room.power_levels")
    assert power["events_default"] == 50 and power["users"][world.user_id("ht1")] == 50
    assert hoa not in power["users"]
    # a staff member's number: the staff account joins, no family account exists
    nv1 = world.user_id("nv1")
    assert nv1 in world.members(families.class_room("thcs1", "6A2"))
    assert nv1 in world.members(school)
    staff_phone = "+84" + world.district.row("nv1")[2][1:]
    assert f"family:{staff_phone}" not in load_mirror(world.engine).accounts
    holders = world.synapse.sql(
        "SELECT user_id FROM user_threepids WHERE medium = 'msisdn' AND address = ?",
        (staff_phone.lstrip("+"),),
    )
    assert holders == [(nv1,)]
    # nothing left to do: a second apply is a no-op
    assert world.plan().total == 0
    assert world.apply().done == 0


def test_moving_a_child_moves_the_membership_and_the_last_child_leaving_locks(world, families):
    hoa, dung = families.user_id(families.hoa), families.user_id(families.dung)
    families.row("S1")[5] = "6A2"  # An moves from 6A1 to 6A2
    families.students.remove(families.row("S3"))  # Dũng's only child leaves
    families.load()
    plan = world.plan()
    family = plan.family_counts()
    assert family["join"] >= 1 and family["leave"] >= 1 and family["deactivate_user"] == 1
    assert plan.departures == {f"family:+84{families.dung[1:]}"}
    world.apply()
    assert hoa not in world.members(families.class_room("thcs1", "6A1"))
    assert hoa in world.members(families.class_room("thcs1", "6A2"))
    assert hoa in world.members(families.parents_room("thcs1"))
    assert world.user(hoa)["displayname"] == "Trần Thị Hoa · PH em An 6A2, em Bảo 7B"
    assert world.user(dung)["deactivated"]
    assert dung not in world.members(families.class_room("thcs1", "6A2"))
    assert world.plan().total == 0


def test_user_search_hides_staff_and_families_from_parents(world, families):
    hoa, dung = families.user_id(families.hoa), families.user_id(families.dung)
    gv1, gv2, ht1 = (world.user_id(p) for p in ("gv1", "gv2", "ht1"))
    hoa_token, gv1_token = token_of(world, hoa), token_of(world, gv1)
    ht1_token, gv2_token = token_of(world, ht1), token_of(world, gv2)

    def localpart(user_id: str) -> str:
        return user_id[1:].split(":")[0]

    # staff find each other (the public spaces), and a principal the school's parents
    eventually(lambda: gv2 in search(world, gv1_token, localpart(gv2)), 30, "gv2 indexed")
    eventually(lambda: dung in search(world, ht1_token, localpart(dung)), 30, "dung indexed")
    # the parent finds the homeroom teacher of the child's class and the principal …
    eventually(lambda: gv1 in search(world, hoa_token, localpart(gv1)), 30, "gv1 for hoa")
    eventually(lambda: ht1 in search(world, hoa_token, localpart(ht1)), 30, "ht1 for hoa")
    # … never another teacher, nor another parent of the same school
    assert gv2 not in search(world, hoa_token, localpart(gv2))
    assert dung not in search(world, hoa_token, localpart(dung))
    # a search by the school's name finds nobody else (it may find nobody at all: Synapse
    # cuts the results to the limit before our module hides people, in no fixed order)
    assert search(world, hoa_token, "THCS Đỗ Văn Dậy") <= {gv1, ht1}
    # the homeroom teacher finds the class's parents; another teacher does not
    eventually(lambda: hoa in search(world, gv1_token, localpart(hoa)), 30, "hoa for gv1")
    assert hoa not in search(world, gv2_token, localpart(hoa))
    assert dung in search(world, gv2_token, localpart(dung))
