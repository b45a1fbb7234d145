"""``dieuhanh moi``: invite by SMS the staff who have never logged in — what ``!moi`` does
in Element, for the whole directory or one unit, sharing the same ledger and budgets
(``provisioning.outreach``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, NoReturn

import typer

from dieuhanh.cli.common import ConfigOption, app, console, errors, load_settings, open_db
from dieuhanh.config import Config
from provisioning.outreach import (
    answers,
    budget_of,
    gateway_settings,
    invitations,
    ledger,
    login_page_url,
    texts,
)
from provisioning.outreach.budget import Budget
from provisioning.outreach.invitations import Outcome
from provisioning.outreach.sender import gateway, send_queued, settle_abandoned
from provisioning.text import format_number
from provisioning.view import DirectoryView, UnknownUnit, load_view

BY = "dieuhanh moi"
NO_DATA = (
    "Chưa có số liệu đăng nhập: máy chủ chưa chuyển số liệu lần nào (module đăng nhập của "
    "Synapse ghi vào account_activity); không biết ai chưa đăng nhập, không gửi tin nào."
)


def _refuse(sentence: str, code: int = 2) -> NoReturn:
    errors.print(sentence)
    raise typer.Exit(code)


def _units(view: DirectoryView, code: str | None) -> tuple[str, list[int]]:
    """(where, unit ids) of ``--don-vi``, or of the whole directory."""
    if code is None:
        return "trong toàn bộ danh bạ", [u.id for u in view.units.values() if u.active]
    try:
        unit = view.unit(code)
    except UnknownUnit:
        _refuse(f"Không có đơn vị mã '{code}' trong danh bạ; không gửi tin nào.")
    return f"ở {unit.name}", [u.id for u in view.subtree(unit.id)]


def _settings(cfg: Config) -> tuple[str, Budget]:
    """The invitation's text and the budget, or one sentence about the ``sms`` settings."""
    try:
        return texts.invitation(login_page_url(cfg.sms, cfg.homeserver.url)), budget_of(cfg.sms)
    except ValueError as exc:
        _refuse(f"Cấu hình sms không dùng được: {exc}")


@app.command("moi")
def moi_command(
    don_vi: Annotated[
        str | None,
        typer.Option("--don-vi", help="Mã đơn vị: chỉ người của đơn vị này và cấp dưới."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Chỉ cho biết sẽ gửi bao nhiêu tin; không gửi gì."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Gửi SMS mời đăng nhập đến cán bộ chưa đăng nhập lần nào (như lệnh !moi): mỗi người
    tối đa một tin trong 7 ngày, trong ngân sách SMS hằng tháng của đơn vị (sms.budget).

    Mã thoát: 0 khi đã gửi (hoặc không có ai cần mời); 1 khi có tin gửi lỗi, hoặc ngân
    sách đã hết nên không gửi được tin nào; 2 khi đầu vào sai (mã đơn vị, cấu hình) hoặc
    chưa có số liệu đăng nhập, và không gửi gì.
    """
    cfg = load_settings(config)
    text, budget = _settings(cfg)
    engine = open_db(cfg)
    view = load_view(engine)
    where, unit_ids = _units(view, don_vi)
    accounts = invitations.read_accounts(engine)
    if not accounts.known:
        _refuse(NO_DATA)
    planned = invitations.plan(
        view, accounts.user_of, accounts.logged_in, invitations.people_in(view, unit_ids)
    )
    now = dt.datetime.now(dt.UTC)
    if not dry_run:
        _settle(engine, now)
    outcome = invitations.queue_invitations(
        engine, view, planned, budget, text, now, BY, dry_run=dry_run
    )
    already = [pid for q in outcome.units for pid in q.allotment.already]
    again = answers.again_from(ledger.last_invited(engine, already) if already else {})
    refused = answers.refusal(outcome, view, where, again)
    if refused:
        console.print(refused)
        raise typer.Exit(1 if outcome.count("over_budget") else 0)
    if dry_run:
        console.print(f"Sẽ gửi {format_number(outcome.chosen)} tin SMS mời đăng nhập {where}.")
        _report(outcome, view, again)
        raise typer.Exit(0)
    failed = _send(engine, cfg, outcome, where)
    _report(outcome, view, again)
    raise typer.Exit(1 if failed else 0)


def _settle(engine, now: dt.datetime) -> None:
    """Settle what a stopped run (or bot) left half-sent, and say so: as a sender starts."""
    settled = settle_abandoned(engine, now)
    if settled:
        console.print(
            f"{format_number(settled)} tin SMS của một lần gửi trước bị dừng giữa chừng: không "
            "rõ đã đến người nhận hay chưa; không gửi lại, vẫn tính vào ngân sách."
        )


def _send(engine, cfg: Config, outcome: Outcome, where: str) -> int:
    """Send what was queued, say how it went; how many failed."""

    async def run() -> dict:
        gate, fetch = gateway(gateway_settings(cfg.sms))
        try:
            return await send_queued(engine, gate, outcome.queued, lambda: dt.datetime.now(dt.UTC))
        finally:
            await fetch.close()

    results = asyncio.run(run())
    console.print(answers.results_line(results, where))
    used = ledger.usage(engine, [q.unit_id for q in outcome.units], dt.datetime.now(dt.UTC))
    for q in outcome.units:  # failures gave their cost back
        q.used = used.get(q.unit_id, q.used)
    return sum(1 for r in results.values() if not r.ok)


def _report(outcome: Outcome, view: DirectoryView, again: dt.datetime | None) -> None:
    for line in (answers.left_out(outcome, again), answers.budget_left(outcome, view)):
        if line:
            console.print(line)
