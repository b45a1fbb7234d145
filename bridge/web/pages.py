"""The "Gửi thông báo" admin page: log in, pick items and units, send, see what went where.

Every request recomputes the person's authority from the directory (a principal who left
loses the page at once); items and targets outside it are refused with 403, never sent.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bridge import authority, post
from bridge.db.admin_session import AdminSession
from bridge.db.delivery import Delivery
from bridge.db.item import NewsItem
from bridge.delivery import Outcome
from bridge.web.auth import LoginUnavailable, RateLimited
from provisioning.domain import short_unit_name
from provisioning.view import DirectoryView, PersonView, UnitView

log = logging.getLogger(__name__)

BASE = "/_dieuhanh/gui-thong-bao"
RECENT_ITEMS = 30

STATUS_TEXT = {
    "delivered": "Đã gửi",
    "already": "Đã gửi trước đó (không gửi lại)",
}
HISTORY_TEXT = {"sent": "Đã gửi", "pending": "Đang gửi", "failed": "Chưa gửi được"}
NOT_AN_ADMIN = (
    "Trang này dành cho lãnh đạo đơn vị (Hiệu trưởng, Phó Hiệu trưởng; cán bộ phòng, xã/phường, "
    "Sở). Tài khoản này không quản lý đơn vị nào trong danh bạ."
)
NOT_IN_DIRECTORY = (
    "Tài khoản này không gắn với cán bộ nào trong danh bạ, nên không dùng được trang Gửi thông báo."
)
BAD_LOGIN = "Số điện thoại (tên tài khoản) hoặc mã đăng nhập (mật khẩu) không đúng."
EXPIRED_FORM = "Biểu mẫu đã hết hạn. Vui lòng thử lại."

#: The logged-in admin's session, their person and the unit codes they act for.
Who = tuple[AdminSession, PersonView, set[str]]


class Pages:
    def __init__(self, service: Any) -> None:
        self.service = service
        self.auth = service.auth
        self.templates = service.templates

    # ------------------------------------------------------------------ helpers

    def render(self, name: str, status: int = 200, **context: Any) -> web.Response:
        context.setdefault("base", BASE)
        context.setdefault("who", None)
        html = self.templates.get_template(name).render(**context)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def _error(self, who: Who, status: int, message: str) -> web.Response:
        session, person, _ = who
        return self.render(
            "error.html", status, message=message, who=person.full_name, csrf=session.csrf_token
        )

    async def _who(self, request: web.Request) -> Who | None:
        """The logged-in admin, their person and their authority; None if not (or no more)."""
        session = await self.auth.current(request)
        if session is None:
            return None
        view = await self.service.directory.view()
        person = view.people.get(session.person_id)
        if person is None or not person.active:
            return None
        scope = authority.person_scope(view, person)
        return (session, person, scope) if scope else None

    # ------------------------------------------------------------------ login

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self._who(request) is not None:
            raise web.HTTPSeeOther(BASE)
        return self._login(request)

    def _login(
        self,
        request: web.Request,
        message: str | None = None,
        ok: bool = False,
        account: str = "",
        status: int = 200,
    ) -> web.Response:
        response = web.Response(content_type="text/html", charset="utf-8", status=status)
        token = self.auth.login_form_token(request, response)
        html = self.templates.get_template("login.html").render(
            base=BASE, who=None, form_token=token, message=message, ok=ok, account=account
        )
        response.text = html
        return response

    async def request_code(self, request: web.Request) -> web.Response:
        form = await request.post()
        account = str(form.get("tai_khoan", "")).strip()[:255]
        if not self.auth.login_form_ok(request, str(form.get("_csrf", ""))):
            return self._login(request, EXPIRED_FORM, account=account, status=400)
        if not account:
            return self._login(request, "Hãy nhập số điện thoại để nhận mã.", status=400)
        answer = await self.auth.request_code(account, self.auth.client_ip(request))
        return self._login(
            request, answer.message, ok=answer.ok, account=account, status=200 if answer.ok else 400
        )

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        account = str(form.get("tai_khoan", "")).strip()[:255]
        secret = str(form.get("mat_khau", ""))[:255]
        if not self.auth.login_form_ok(request, str(form.get("_csrf", ""))):
            return self._login(request, EXPIRED_FORM, account=account, status=400)
        if not account or not secret:
            return self._login(request, BAD_LOGIN, account=account, status=400)
        try:
            user_id = await self.auth.verify(account, secret, self.auth.client_ip(request))
        except RateLimited as exc:
            minutes = max(1, round(exc.seconds / 60))
            return self._login(
                request,
                f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
                account=account,
                status=429,
            )
        except LoginUnavailable as exc:
            log.error("admin login could not be checked: %s", exc)
            return self._login(
                request,
                "Không liên lạc được máy chủ Matrix. Vui lòng thử lại.",
                account=account,
                status=503,
            )
        if user_id is None:
            return self._login(request, BAD_LOGIN, account=account, status=403)
        person = await self.service.directory.person_of_user(user_id)
        if person is None:
            log.info("admin page login refused for %s: not in the directory", user_id)
            return self._login(request, NOT_IN_DIRECTORY, status=403)
        view = await self.service.directory.view()
        if not authority.person_scope(view, person):
            log.info("admin page login refused for %s: manages no unit", user_id)
            return self._login(request, NOT_AN_ADMIN, status=403)
        response = web.HTTPSeeOther(BASE)
        await self.auth.start(response, user_id, person.id)
        log.info("admin page: %s logged in", user_id)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        who = await self._who(request)
        form = await request.post()
        response = web.HTTPSeeOther(f"{BASE}/dang-nhap")
        if who is not None and not self.auth.csrf_ok(who[0], str(form.get("_csrf", ""))):
            return self.render("error.html", 403, message=EXPIRED_FORM)
        await self.auth.end(request, response)
        raise response

    # ------------------------------------------------------------------ the page

    async def index(self, request: web.Request) -> web.StreamResponse:
        who = await self._who(request)
        if who is None:
            raise web.HTTPSeeOther(f"{BASE}/dang-nhap")
        return await self._index(who, request.query.get("nguon"))

    async def _index(
        self,
        who: Who,
        wanted_source: str | None,
        *,
        error: str | None = None,
        chosen_items: set[int] | frozenset = frozenset(),
        chosen_units: set[str] | frozenset = frozenset(),
        status: int = 200,
    ) -> web.Response:
        session, person, scope = who
        svc = self.service
        view = await svc.directory.view()
        managed = authority.managed_units(view, person)
        ordered = authority.tree_order(view, scope)
        sources, source = await self._sources(managed, ordered, scope, wanted_source)
        rooms = await svc.directory.news_rooms(scope)
        targets = [
            {"unit": u, "depth": min(authority.depth(view, u, scope), 5)}
            for u in ordered
            if u.code in rooms
        ]
        return self.render(
            "index.html",
            status,
            who=f"{person.full_name}",
            csrf=session.csrf_token,
            managed=", ".join(u.name for u in managed),
            sources=sources,
            source=source,
            items=await self._item_rows(view, source),
            targets=targets,
            history=await self._history(view, scope),
            error=error,
            chosen_items=set(chosen_items),
            chosen_units=set(chosen_units),
            interval=max(1, round(svc.config.bridge.poll_interval_seconds / 60)),
        )

    async def _sources(
        self,
        managed: list[UnitView],
        ordered: list[UnitView],
        scope: set[str],
        wanted: str | None,
    ) -> tuple[list[UnitView], UnitView | None]:
        """Units in scope whose portal gave us items (or that have a feed), and the one shown:
        the one asked for, else the first managed with items, else the first with items."""
        with_items = await NewsItem.units_with_items(self.service.engine) & scope
        with_feed = {u.code for u in ordered if u.rss_url}
        sources = [u for u in ordered if u.code in with_items | with_feed]
        source = next((u for u in sources if u.code == wanted), None)
        if source is None:
            home = [u for u in managed if u.code in with_items] + [
                u for u in sources if u.code in with_items
            ]
            source = home[0] if home else (sources[0] if sources else None)
        return sources, source

    async def _item_rows(self, view: DirectoryView, source: UnitView | None) -> list[dict]:
        """The source's newest items, each with the units it was sent to."""
        engine = self.service.engine
        items = await NewsItem.recent(engine, [source.code], RECENT_ITEMS) if source else []
        deliveries = await Delivery.of_items(engine, [i.id for i in items])
        rows = []
        for item in items:
            sent = [
                _short(view, d.unit_code) for d in deliveries.get(item.id, []) if d.status == "sent"
            ]
            rows.append(
                {"item": item, "date": post.local_date(item.date), "sent_to": ", ".join(sent)}
            )
        return rows

    async def _history(self, view: DirectoryView, scope: set[str]) -> list[dict]:
        """What was sent on request into the person's units lately."""
        return [
            {
                "when": post.local_time(d.sent_at or d.created_at),
                "title": item.title,
                "unit": _short(view, d.unit_code),
                "status": HISTORY_TEXT.get(d.status, d.status),
            }
            for d, item in await Delivery.recent_requested(self.service.engine, scope, 20)
        ]

    # ------------------------------------------------------------------ sending

    async def send(self, request: web.Request) -> web.StreamResponse:
        who = await self._who(request)
        if who is None:
            raise web.HTTPSeeOther(f"{BASE}/dang-nhap")
        session, _, scope = who
        # the form: its CSRF token, the items and the target units
        form = await request.post()
        if not self.auth.csrf_ok(session, str(form.get("_csrf", ""))):
            log.warning("admin page: bad CSRF token from %s", session.user_id)
            return self._error(who, 403, EXPIRED_FORM)
        source = str(form.get("nguon", "")) or None
        try:
            item_ids = [int(v) for v in form.getall("item", [])]
        except ValueError:
            return self._error(who, 400, "Tin được chọn không hợp lệ.")
        unit_codes = list(dict.fromkeys(str(v) for v in form.getall("unit", [])))
        # authority: items from, and targets in, the person's units only
        items = await NewsItem.get_many(self.service.engine, item_ids)
        foreign = [i for i in item_ids if i not in items or items[i].unit_code not in scope]
        refused = authority.outside(scope, unit_codes)
        if foreign or refused:
            log.warning(
                "admin page: %s tried items %s / units %s outside their authority",
                session.user_id,
                foreign,
                refused,
            )
            return self._error(who, 403, "Không có quyền gửi tin này hoặc gửi đến đơn vị này.")
        # nothing chosen: the page again, as it was filled in
        if not item_ids or not unit_codes:
            error = (
                "Hãy chọn ít nhất một tin." if not item_ids else "Hãy chọn ít nhất một đơn vị nhận."
            )
            return await self._index(
                who,
                source,
                error=error,
                chosen_items=set(item_ids),
                chosen_units=set(unit_codes),
                status=400,
            )
        # send, oldest item first, and say what went where
        ordered = sorted(items.values(), key=lambda i: (i.date, i.id))
        outcomes = await self.service.deliverer.deliver(
            ordered, unit_codes, via="admin", by_user_id=session.user_id
        )
        return await self._result(who, source, len(items), len(unit_codes), outcomes)

    async def _result(
        self, who: Who, source: str | None, items: int, units: int, outcomes: list[Outcome]
    ) -> web.Response:
        session, person, _ = who
        view = await self.service.directory.view()
        rows = [
            {
                "title": o.item.title,
                "unit": _short(view, o.unit_code),
                "status": o.status,
                "text": STATUS_TEXT.get(o.status) or f"Chưa gửi được: {o.reason}",
            }
            for o in outcomes
        ]
        delivered = sum(1 for o in outcomes if o.status == "delivered")
        already = sum(1 for o in outcomes if o.status == "already")
        failed = sum(1 for o in outcomes if o.status == "failed")
        summary = (
            f"Đã gửi {items} tin đến {units} đơn vị: {delivered} lượt gửi mới"
            + (f", {already} lượt đã gửi trước đó" if already else "")
            + (f", {failed} lượt chưa gửi được" if failed else "")
            + "."
        )
        log.info(
            "admin page: %s sent %d items to %d units (%d new, %d already, %d failed)",
            session.user_id,
            items,
            units,
            delivered,
            already,
            failed,
        )
        return self.render(
            "result.html",
            who=person.full_name,
            csrf=session.csrf_token,
            rows=rows,
            summary=summary,
            failed=failed,
            source=source,
        )


def _short(view: DirectoryView, unit_code: str) -> str:
    unit = view.by_code.get(unit_code)
    return short_unit_name(unit.name) if unit else unit_code
