"""Which units a query names (``DirectorySnapshot.units_matching``): codes, words of the
full name, and the short names the bot itself prints ("MN Hoa Sen", "Sở GD&ĐT") —
accent- and case-insensitive; several matches stay several."""

from __future__ import annotations

import pytest

from bot.directory import DirectoryCache, DirectorySnapshot
from provisioning.importer import import_paths

from ..directory.conftest import BASE_STAFF, BASE_UNITS, STAFF_HEADER, UNIT_HEADER, write_csv

#: a Tiểu học and a THCS sharing the Mầm non's name: "TH Hoa Sen" is also a prefix of
#: "THCS Hoa Sen"
HOA_SEN = [
    ["th-hs", "Trường Tiểu học Hoa Sen", "hocmon", "Trường", "TH", "CL", "", ""],
    ["thcs-hs", "Trường THCS Hoa Sen", "hocmon", "Trường", "THCS", "CL", "", ""],
]


@pytest.fixture
async def snapshot(engine, tmp_path) -> DirectorySnapshot:
    files = [
        write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, [*BASE_UNITS, *HOA_SEN]),
        write_csv(tmp_path / "nhan_su.csv", STAFF_HEADER, BASE_STAFF),
    ]
    assert import_paths(engine, files).exit_code == 0
    return await DirectoryCache(engine, min_check_interval=0).get()


def codes(snapshot: DirectorySnapshot, query: str) -> list[str]:
    return [u.code for u in snapshot.units_matching(query, within=snapshot.all_units)]


@pytest.mark.parametrize(
    "query",
    ["MN Hoa Sen", "mn hoa sen", "MN HOA SEN", "Mn Hoa", "Trường MN Hoa Sen", "mầm non hoa sen"],
)
def test_the_short_name_the_bot_prints_finds_the_unit(snapshot, query):
    assert codes(snapshot, query) == ["mn-hs"]


def test_short_names_of_the_other_kinds(snapshot):
    assert codes(snapshot, "Sở GD&ĐT") == ["so"]
    assert codes(snapshot, "so gd&dt") == ["so"]
    assert codes(snapshot, "THPT Nguyễn Hữu Cầu") == ["thpt-a"]
    assert codes(snapshot, "thcs do van day") == ["thcs-dvd"]


def test_several_matches_stay_several(snapshot):
    assert sorted(codes(snapshot, "Hoa Sen")) == ["mn-hs", "th-hs", "thcs-hs"]
    # the bot prints "TH Hoa Sen" for the Tiểu học, but "TH" also starts "THCS": both
    # match here, and the commands choose only on an exact name (bot.commands.units)
    assert sorted(codes(snapshot, "TH Hoa Sen")) == ["th-hs", "thcs-hs"]
    assert sorted(codes(snapshot, "THCS")) == ["thcs-dvd", "thcs-hs", "thcs-tt"]


def test_nothing_matches_what_no_name_holds(snapshot):
    assert codes(snapshot, "MN Ánh Dương") == []
    assert codes(snapshot, "THPT Hoa Sen") == []
    assert codes(snapshot, "   ") == []


def test_a_code_still_wins(snapshot):
    assert codes(snapshot, "MN-HS") == ["mn-hs"]
