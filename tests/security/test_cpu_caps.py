"""Low finding (CPU exhaustion): every word of a !gui target list is looked up among all
units and people, so a list of thousands of words cost minutes of CPU. It is capped."""

from __future__ import annotations

from bot.directives.audience import MAX_TARGET_WORDS

from ..bot.test_gui import say, service  # noqa: F401 - the fixture

OFFICIAL = "P009"  # Trưởng phòng at the xã


async def test_an_endless_target_list_is_refused_before_any_lookup(service):  # noqa: F811
    words = " ".join(["HT"] * 5000)
    reply = await say(service, OFFICIAL, f"!gui THCS {words}: Kính gửi các thầy cô")
    assert "Danh sách nơi nhận quá dài" in reply.text, reply.text
    assert f"tối đa {MAX_TARGET_WORDS}" in reply.text
    assert "vn.dieuhanh.sent" not in reply.extra


async def test_a_long_list_in_a_guided_step_is_refused_too(service):  # noqa: F811
    await say(service, OFFICIAL, "!gui")
    await say(service, OFFICIAL, "tin nhắn")
    reply = await say(service, OFFICIAL, " ".join(["THCS"] * (MAX_TARGET_WORDS + 1)))
    assert "Danh sách nơi nhận quá dài" in reply.text, reply.text


async def test_a_normal_one_line_form_still_goes(service):  # noqa: F811
    reply = await say(service, OFFICIAL, "!gui THCS HT: Kính gửi các thầy cô hiệu trưởng")
    assert reply.extra["vn.dieuhanh.sent"]["people"] >= 1, reply.text
