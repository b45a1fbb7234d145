"""A small district to provision into the session's real Synapse.

Every test gets its own directory (SQLite) and its own codes (a unique prefix), so tests
share one Synapse without seeing each other's rooms; people's names repeat across tests
on purpose, so localpart collisions with other tests' accounts are exercised too.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dieuhanh.config import Config
from provisioning.db import open_directory
from provisioning.importer import ImportResult, import_paths
from provisioning.matrix.apply import ApplyResult, apply, make_plan
from provisioning.matrix.client import q
from provisioning.matrix.mirror import load_mirror
from provisioning.matrix.plan import Plan

from ..directory.conftest import STAFF_HEADER, UNIT_HEADER, write_csv

_runs = itertools.count()


@dataclass
class District:
    """Editable rows of a district; codes are prefixed so that tests never collide."""

    prefix: str
    units: list[list[str]] = field(default_factory=list)
    staff: list[list[str]] = field(default_factory=list)

    def u(self, code: str) -> str:
        return f"{self.prefix}{code}"

    def p(self, code: str) -> str:
        return f"{self.prefix}{code}"

    def row(self, person: str) -> list[str]:
        return next(r for r in self.staff if r[0] == self.p(person))

    def unit_row(self, code: str) -> list[str]:
        return next(r for r in self.units if r[0] == self.u(code))


def make_district(prefix: str) -> District:
    d = District(prefix)
    u = d.u
    d.units = [
        [u("so"), "Sở Giáo dục và Đào tạo", "", "Sở", "", "", "", ""],
        [u("xa"), "Xã Hóc Môn", u("so"), "Xã/Phường", "", "", "", ""],
        [u("thcs1"), "Trường THCS Đỗ Văn Dậy", u("xa"), "Trường", "THCS", "Công lập", "", ""],
        [u("thcs2"), "Trường THCS Ánh Dương", u("xa"), "Trường", "THCS", "Tư thục", "", ""],
        [u("mn1"), "Trường Mầm non Hoa Sen", u("xa"), "Trường", "MN", "Công lập", "", ""],
        [u("thpt1"), "Trường THPT Nguyễn Hữu Cầu", u("so"), "Trường", "THPT", "CL", "", ""],
        [u("toan"), "Tổ Toán – THCS Đỗ Văn Dậy", u("thcs1"), "Tổ", "", "", "", ""],
    ]
    base = 900_000_000 + secrets.randbelow(90_000_000)
    people = [
        ("ht1", "Nguyễn Văn An", "thcs1", "Hiệu trưởng"),
        ("gv1", "Trần Thị Bình", "thcs1", "Giáo viên"),
        ("gv2", "Lê Văn Cường", "thcs1", "Giáo viên"),
        ("tt1", "Phạm Văn Dũng", "toan", "Tổ trưởng chuyên môn"),
        ("nv1", "Đặng Thị Hà", "thcs1", "Kế toán"),
        ("ht2", "Phạm Thị Dung", "thcs2", "Hiệu trưởng"),
        ("gv3", "Hoàng Văn Em", "thcs2", "Giáo viên"),
        ("ht3", "Võ Thị Hoa", "mn1", "Hiệu trưởng"),
        ("gv4", "Ngô Thị Mai", "mn1", "Giáo viên"),
        ("ht4", "Bùi Văn Khoa", "thpt1", "Hiệu trưởng"),
        ("gv5", "Dương Thị Lan", "thpt1", "Giáo viên"),
        ("tp", "Lý Văn Minh", "xa", "Trưởng phòng"),
        ("cv", "Trương Thị Ngọc", "xa", "Chuyên viên"),
        ("gd", "Huỳnh Văn Phúc", "so", "Giám đốc"),
    ]
    for i, (code, name, unit, position) in enumerate(people):
        phone = f"0{base + i * 7919}"
        d.staff.append([d.p(code), name, phone, "", u(unit), position, "Đại học", "", "", ""])
    return d


@dataclass
class World:
    """One test's directory, wired to the session's Synapse."""

    engine: Engine
    config: Config
    district: District
    synapse: Any
    folder: Path

    def load(self, *, scope: str | None = None, allow_mass_removal: bool = False) -> ImportResult:
        folder = self.folder / f"import{next(_runs)}"
        result = import_paths(
            self.engine,
            [
                write_csv(folder / "don_vi.csv", UNIT_HEADER, self.district.units),
                write_csv(folder / "nhan_su.csv", STAFF_HEADER, self.district.staff),
            ],
            scope=scope,
            allow_mass_removal=allow_mass_removal,
        )
        assert not [r for r in result.reports if r.rejected], result.report_lines()
        return result

    def apply(self, **kwargs: Any) -> ApplyResult:
        kwargs.setdefault("concurrency", 8)
        result = asyncio.run(apply(self.engine, self.config, **kwargs))
        assert not result.failures, result.failures
        return result

    def plan(self) -> Plan:
        return make_plan(self.engine, self.config)[0]

    # ------------------------------------------------------------ reading Synapse

    def user_id(self, person: str) -> str:
        return load_mirror(self.engine).accounts[self.district.p(person)].user_id

    def room_id(self, key: str) -> str:
        return load_mirror(self.engine).rooms[key].room_id

    def unit_room(self, unit: str, purpose: str) -> str:
        return self.room_id(f"unit/{self.district.u(unit)}/{purpose}")

    def members(self, room_id: str) -> set[str]:
        return set(
            self.synapse.api("GET", f"/_synapse/admin/v1/rooms/{q(room_id)}/members")["members"]
        )

    def joined_rooms(self, user_id: str) -> set[str]:
        return set(
            self.synapse.api("GET", f"/_synapse/admin/v1/users/{q(user_id)}/joined_rooms")[
                "joined_rooms"
            ]
        )

    def user(self, user_id: str) -> dict[str, Any]:
        return self.synapse.api("GET", f"/_synapse/admin/v2/users/{q(user_id)}")

    def phones(self, user_id: str) -> list[str]:
        return [
            t["address"] for t in self.user(user_id).get("threepids", []) if t["medium"] == "msisdn"
        ]

    def state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
        return self.synapse.api(
            "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/{q(event_type)}/{q(state_key)}"
        )

    def managed_rooms_on_server(self) -> list[str]:
        """Room ids on Synapse whose name mentions this test's units, found by listing."""
        rooms, start = [], 0
        while True:
            page = self.synapse.api("GET", f"/_synapse/admin/v1/rooms?limit=500&from={start}")
            rooms.extend(page["rooms"])
            if "next_batch" not in page:
                break
            start = page["next_batch"]
        return [
            r["room_id"]
            for r in rooms
            if (r.get("canonical_alias") or "").startswith(f"#dh.{self.district.prefix}")
        ]


@pytest.fixture
def world(synapse, tmp_path: Path) -> World:
    prefix = f"t{secrets.token_hex(3)}-"
    config = copy.deepcopy(synapse.setup.config)
    config.homeserver.url = synapse.base_url
    config.homeserver.admin_token = synapse.admin_token
    engine = open_directory(f"sqlite:///{tmp_path / 'directory.db'}")
    w = World(engine, config, make_district(prefix), synapse, tmp_path)
    yield w
    engine.dispose()
