"""What an invitation run says to whoever asked (``!moi``, ``dieuhanh moi``): how many were
invited, who was left out and why, how much of the month's budget is left — or, when none
could be invited, the one sentence that says why (nothing was queued then).

``where`` is a phrase with its preposition: "ở THCS Đỗ Văn Dậy", "cho Trần Thị Bình",
"trong toàn bộ danh bạ"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from provisioning.domain import short_unit_name
from provisioning.outreach.budget import INVITE_EVERY, VN, month_label
from provisioning.outreach.invitations import Outcome
from provisioning.outreach.sender import Result
from provisioning.text import format_number
from provisioning.view import DirectoryView

n = format_number


def _day(at: dt.datetime) -> str:
    return at.astimezone(VN).strftime("%d/%m/%Y")


def again_from(last_invited: dict[int, dt.datetime]) -> dt.datetime | None:
    """The first moment one of these people may be invited again."""
    return min(last_invited.values()) + INVITE_EVERY if last_invited else None


def refusal(
    outcome: Outcome, view: DirectoryView, where: str, again: dt.datetime | None
) -> str | None:
    """Why nobody can be invited (one sentence), or None when somebody can."""
    if outcome.chosen:
        return None
    planned = outcome.plan
    if outcome.count("over_budget"):
        over = [q for q in outcome.units if q.allotment.over_budget]
        if len(over) == 1:
            q = over[0]
            name = short_unit_name(view.units[q.unit_id].name)
            return (
                f"Ngân sách SMS tháng {month_label(q.month)} của {name} đã hết "
                f"({n(q.used)}/{n(q.limit)} tin); không gửi tin mời nào."
            )
        return (
            f"Ngân sách SMS tháng {month_label(over[0].month)} đã hết ở cả {n(len(over))} đơn "
            "vị có người chưa đăng nhập; không gửi tin mời nào."
        )
    if outcome.count("already"):
        when = f"; có thể mời lại từ {_day(again)}" if again else ""
        return (
            f"Cả {n(outcome.count('already'))} người chưa đăng nhập lần nào {where} đã được "
            f"mời qua SMS trong 7 ngày qua{when}."
        )
    if planned.no_phone or planned.no_account:
        return (
            f"{n(len(planned.no_phone) + len(planned.no_account))} người chưa đăng nhập "
            f"{where} chưa có tài khoản hoặc số di động dùng để đăng nhập; hãy cập nhật số "
            "điện thoại (!capnhat) rồi mời lại."
        )
    return f"Mọi cán bộ có tài khoản {where} đã đăng nhập; không cần mời."


def left_out(outcome: Outcome, again: dt.datetime | None) -> str | None:
    """'Không gửi cho 5 người: 2 đã được mời trong 7 ngày qua …', or None."""
    planned = outcome.plan
    parts = []
    if outcome.count("already"):
        when = f" (mời lại được từ {_day(again)})" if again else ""
        parts.append(f"{n(outcome.count('already'))} đã được mời trong 7 ngày qua{when}")
    if outcome.count("over_budget"):
        parts.append(f"{n(outcome.count('over_budget'))} vượt ngân sách SMS của tháng")
    if planned.no_phone:
        parts.append(f"{n(len(planned.no_phone))} chưa có số di động dùng để đăng nhập")
    if planned.no_account:
        parts.append(f"{n(len(planned.no_account))} chưa có tài khoản")
    if not parts:
        return None
    total = outcome.count("already") + outcome.count("over_budget")
    total += len(planned.no_phone) + len(planned.no_account)
    return f"Không gửi cho {n(total)} người: {', '.join(parts)}."


def budget_left(outcome: Outcome, view: DirectoryView) -> str | None:
    """The month's budget left in the units that pay for these invitations."""
    units = outcome.units
    if not units:
        return None
    month = month_label(units[0].month)
    if len(units) == 1:
        q = units[0]
        name = short_unit_name(view.units[q.unit_id].name)
        return f"Ngân sách SMS tháng {month} của {name}: còn {n(q.left)}/{n(q.limit)} tin."
    left, limit = sum(q.left for q in units), sum(q.limit for q in units)
    spent = sorted(short_unit_name(view.units[q.unit_id].name) for q in units if not q.left)
    line = f"Ngân sách SMS tháng {month}: còn {n(left)}/{n(limit)} tin ở {n(len(units))} đơn vị"
    if spent:
        shown = ", ".join(spent[:5]) + (
            f" và {n(len(spent) - 5)} đơn vị khác" if len(spent) > 5 else ""
        )
        line += f"; đã hết ở {n(len(spent))} đơn vị: {shown}"
    return line + "."


def results_line(results: Mapping[int, Result], where: str) -> str:
    """'Đã gửi xong SMS mời đăng nhập ở …: 12 tin đã gửi, 1 tin lỗi (…).'"""
    failed = [r for r in results.values() if not r.ok]
    line = f"Đã gửi xong SMS mời đăng nhập {where}: {n(len(results) - len(failed))} tin đã gửi"
    if failed:
        line += (
            f", {n(len(failed))} tin lỗi ({failed[0].note}); tin lỗi không tính vào ngân "
            "sách, có thể mời lại ngay"
        )
    return line + "."
