"""!baocao of a post to more people than one Matrix event can name: counts by unit, the
units with most first, and the names of one unit on request (``!baocao <mã> <đơn vị>``)."""

from __future__ import annotations

import pytest

from bot.directives.roster import NAMES_SHOWN, UNITS_SHOWN, unit_lines

from ..directory.conftest import BASE_STAFF
from .test_commands import EXTRA
from .test_gui import MORE, build_service, say

#: 45 more teachers at THCS Đỗ Văn Dậy and 30 at THCS Tư thục Ánh Dương
TEACHERS = [
    [f"T{i:03d}", f"Giáo viên Số {i:03d}", f"0908{i:06d}", "", school, "GV", "", "", "", ""]
    for i, school in [(i, "thcs-dvd") for i in range(45)] + [(i, "thcs-tt") for i in range(45, 75)]
]


@pytest.fixture
def service(engine, base_files, tmp_path):
    return build_service(engine, base_files, tmp_path, [*BASE_STAFF, *EXTRA, *MORE, *TEACHERS])


def test_a_small_group_lists_every_name_by_unit():
    lines, shortened = unit_lines({"THCS A": ["An", "Bình"], "THCS B": ["Chi"]})
    assert lines == ["THCS A: An, Bình", "THCS B: Chi"] and not shortened


def test_a_large_group_gives_counts_by_unit_the_largest_first_and_the_rest_summed():
    units = {f"MN {i:02d}": [f"Người {j}" for j in range(i % 7 + 1)] for i in range(40)}
    assert sum(map(len, units.values())) > NAMES_SHOWN
    lines, shortened = unit_lines(units)
    assert shortened and len(lines) == UNITS_SHOWN + 1
    assert lines[0] == "MN 06: 7 người"  # 7 people: the first of the largest
    shown = sum(int(line.split(": ")[1].split()[0]) for line in lines[:-1])
    rest = 40 - UNITS_SHOWN
    assert lines[-1] == f"… và {rest} đơn vị khác ({sum(map(len, units.values())) - shown} người)"


async def test_baocao_of_many_recipients_counts_by_unit_and_names_one_unit_on_request(service):
    sent = await say(service, "P008", "!gui THCS GV: Nộp kế hoạch dạy học.")
    code = sent.extra["vn.dieuhanh.sent"]["code"]
    report = await say(service, "P008", f"!baocao {code}")
    data = report.extra["vn.dieuhanh.report"]
    assert data["recipients"] > NAMES_SHOWN
    assert "Giáo viên Số 001" not in report.text  # counts, not names
    assert "THCS Đỗ Văn Dậy: 4" in report.text and " người" in report.text
    assert f"Gõ !baocao {code} <tên hoặc mã đơn vị> để xem tên từng người" in report.text
    narrowed = await say(service, "P008", f"!baocao {code} anh duong")
    assert narrowed.extra["vn.dieuhanh.report"]["unit"] == "thcs-tt"
    assert "trong Trường THCS Tư thục Ánh Dương" in narrowed.text
    assert "Giáo viên Số 045" in narrowed.text and "Giáo viên Số 001" not in narrowed.text
    assert narrowed.extra["vn.dieuhanh.report"]["recipients"] < data["recipients"]
    unknown = await say(service, "P008", f"!baocao {code} Trường Không Có")
    assert unknown.text == "Không tìm thấy đơn vị 'Trường Không Có'."
