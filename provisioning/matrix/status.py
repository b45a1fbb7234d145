"""Who has an account and who does not, and why (for `dieuhanh status`)."""

from __future__ import annotations

from collections import Counter

from provisioning.domain import primary_position
from provisioning.matrix.mirror import Mirror
from provisioning.view import DirectoryView

REASONS = {
    "account": "Có tài khoản",
    "pending": "Chưa có tài khoản (lần áp dụng tới sẽ tạo)",
    "no_phone": "Không có tài khoản: thiếu số điện thoại",
    "bad_phone": "Không có tài khoản: số điện thoại không dùng được",
    "shared_phone": "Không có tài khoản: số điện thoại trùng với người khác",
    "no_position": "Không có tài khoản: không còn chức vụ ở đơn vị nào đang hoạt động",
    "departed_locked": "Đã nghỉ việc, tài khoản đã khoá",
    "departed_pending": "Đã nghỉ việc, tài khoản sẽ khoá ở lần áp dụng tới",
    "departed": "Đã nghỉ việc, chưa từng có tài khoản",
}


def account_status(view: DirectoryView, mirror: Mirror) -> Counter[str]:
    """People counted by the reason they have, or have not, a usable account."""
    counts: Counter[str] = Counter()
    for person in view.people.values():
        account = mirror.accounts.get(person.code)
        has = account is not None and account.created and not account.deactivated
        if not person.active:
            if account is None or not account.created:
                counts["departed"] += 1
            else:
                counts["departed_locked" if account.deactivated else "departed_pending"] += 1
        elif has:
            counts["account"] += 1
        elif primary_position(view, person) is None:
            counts["no_position"] += 1
        elif view.login_phone(person):
            counts["pending"] += 1
        elif person.phone:
            counts["shared_phone"] += 1
        elif person.phone_raw:
            counts["bad_phone"] += 1
        else:
            counts["no_phone"] += 1
    return counts
