"""Finding 1: every directory and statistics lookup stays inside the asker's scope.

An exact unit code used to be returned before the scope was applied: a kindergarten
teacher typing another school's code got its staff with phone numbers, the Sở's code
listed the city, and a principal got another school's statistics.
"""

from __future__ import annotations

import pytest

from provisioning.phone import format_local

from ..bot.test_commands import ask, service  # noqa: F401 - the fixture
from ..directory.conftest import BASE_STAFF

MN_TEACHER = "P006"  # Võ Thị Hoa, teacher at Trường Mầm non Hoa Sen
OTHER_PRINCIPAL = "P004"  # Phạm Thị Dung, principal of Trường THCS Tư thục Ánh Dương
PHONES = {row[0]: format_local("+84" + row[2][1:]) for row in BASE_STAFF}
OUTSIDE_MN = {code: phone for code, phone in PHONES.items() if code != MN_TEACHER}


def leaked(reply) -> set[str]:
    """Codes of people outside the kindergarten whose phone number the reply shows."""
    text = reply.text + (reply.html or "")
    return {code for code, phone in OUTSIDE_MN.items() if phone in text}


@pytest.mark.parametrize(
    "query",
    [
        "thcs-dvd",  # another school's code
        "THCS-DVD",
        "so",  # the Sở's code: the whole city
        "hocmon",  # the xã above the teacher's own school
        "Trường THCS Đỗ Văn Dậy",  # by name
        "THCS Đỗ Văn Dậy",
        "Sở Giáo dục",
        "Nguyễn Văn An",  # a principal elsewhere, by name
        "an",
        "tất cả",
        "THCS",
    ],
)
async def test_a_teacher_finds_no_one_outside_their_school(service, query):  # noqa: F811
    reply = await ask(service, MN_TEACHER, f"!danhba {query}")
    assert leaked(reply) == set(), reply.text
    assert reply.extra.get("vn.dieuhanh.people", []) in ([], [MN_TEACHER]), reply.text


async def test_a_teacher_still_finds_their_own_school(service):  # noqa: F811
    reply = await ask(service, MN_TEACHER, "!danhba mn-hs")
    assert reply.extra["vn.dieuhanh.people"] == [MN_TEACHER]


@pytest.mark.parametrize(
    "args",
    [
        "THCS thcs-dvd",
        "thcs-dvd THCS",  # any argument order
        "THCS Trường THCS Đỗ Văn Dậy",
        "THCS hocmon",
        "THCS so",
        "THPT thpt-a",
    ],
)
async def test_a_principal_gets_no_statistics_of_another_unit(service, args):  # noqa: F811
    reply = await ask(service, OTHER_PRINCIPAL, f"!thongke {args}")
    assert "vn.dieuhanh.stats" not in reply.extra, reply.text
    assert "ngoài phạm vi" in reply.text


async def test_a_principal_gets_their_own_statistics_in_any_order(service):  # noqa: F811
    for args in ("THCS thcs-tt", "thcs-tt THCS", "THCS"):
        reply = await ask(service, OTHER_PRINCIPAL, f"!thongke {args}")
        figures = reply.extra["vn.dieuhanh.stats"]
        assert figures["so_truong"]["tong"] == 1, (args, reply.text)
