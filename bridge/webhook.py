"""The CMS webhook: a portal pushes its news ("Gửi thông báo" from the CMS).

``POST /_dieuhanh/api/tin-tuc`` with ``Authorization: Bearer <token of unit U>`` and ::

    {"items": [{"id": "…", "title": "…", "link": "https://…", "summary": "plain text"
                | "content_html": "<p>…</p>", "published": "2025-09-05T07:30:00+07:00",
                "image": "https://…/anh.jpg"}],
     "targets": ["<unit code>", …]}

- 401: no token, or not a token of any unit (tokens: ``dieuhanh webhook token <unit>``,
  stored hashed; or ``bridge.webhook_tokens`` in the configuration).
- 400: not JSON, or a missing/invalid field — the answer names it (``"field"``).
- 403: a target outside U's authority (U and the units below it); the answer lists them
  (``"units"``) and nothing is sent.
- 200: ``{"delivered": [{"item", "unit", "event_id"}], "already": [...], "failed":
  [{"item", "unit", "reason"}]}``. Idempotent by item id: the same item to the same unit
  again is "already". A target without a news room yet is "failed".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from aiohttp import web

from bridge import authority, post, sanitize
from bridge.db.item import NewsItem
from bridge.db.webhook_token import WebhookToken
from bridge.delivery import Outcome
from bridge.feeds import MAX_ID_CHARS, MAX_TITLE_CHARS
from provisioning.db.threads import utcnow

log = logging.getLogger(__name__)

PATH = "/_dieuhanh/api/tin-tuc"
MAX_ITEMS = 20
MAX_TARGETS = 5000
MAX_DELIVERIES = 5000
TOKEN_PREFIX = "dhw_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class BadRequest(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class Webhook:
    def __init__(self, service: Any) -> None:
        self.service = service

    async def unit_of(self, request: web.Request) -> str | None:
        """The unit whose token the request carries (stored hashed, or configured)."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        token = header[7:].strip()
        if not token:
            return None
        found = await WebhookToken.active(self.service.engine, token_hash(token))
        if found:
            return found.unit_code
        for unit_code, configured in self.service.config.bridge.webhook_tokens.items():
            if configured and hmac.compare_digest(configured.encode(), token.encode()):
                return unit_code
        return None

    async def handle(self, request: web.Request) -> web.Response:
        # who is pushing
        unit_code = await self.unit_of(request)
        if unit_code is None:
            return _unauthorized()
        # what, and where to
        try:
            body = await request.json()
        except ValueError:
            return _json(400, {"error": "Nội dung không phải JSON hợp lệ.", "field": "body"})
        try:
            items, targets = parse_body(body)
        except BadRequest as exc:
            return _json(400, {"error": exc.message, "field": exc.field})
        if len(items) * len(targets) > MAX_DELIVERIES:
            return _json(
                400,
                {
                    "error": f"Mỗi lần gửi tối đa {MAX_DELIVERIES} lượt (tin × đơn "
                    "vị); hãy chia nhỏ.",
                    "field": "targets",
                },
            )
        # may it
        refusal = await self._refusal(unit_code, targets)
        if refusal is not None:
            return refusal
        # store, deliver, answer
        now = utcnow()
        stored = [
            await NewsItem.store_pushed(
                self.service.engine, unit_code, item["id"], now=now, **item["fields"]
            )
            for item in items
        ]
        outcomes = await self.service.deliverer.deliver(stored, targets, via="webhook")
        return _answer(unit_code, len(items), len(targets), outcomes)

    async def _refusal(self, unit_code: str, targets: list[str]) -> web.Response | None:
        """403 when a target is outside the unit's authority (or the unit is gone)."""
        view = await self.service.directory.view()
        scope = authority.token_scope(view, unit_code)
        if not scope:
            return _json(
                403, {"error": f"Đơn vị {unit_code} không còn hoạt động.", "units": [unit_code]}
            )
        refused = authority.outside(scope, targets)
        if not refused:
            return None
        log.warning("webhook of %s refused: targets outside its authority %s", unit_code, refused)
        return _json(
            403,
            {
                "error": "Không có quyền gửi tin đến các đơn vị: "
                + ", ".join(refused)
                + f". Cổng của {view.by_code[unit_code].name} chỉ gửi được đến chính đơn "
                "vị và các đơn vị trực thuộc.",
                "units": refused,
            },
        )


def _unauthorized() -> web.Response:
    resp = _json(
        401,
        {"error": "Thiếu mã truy cập hoặc mã không đúng (Authorization: Bearer <mã của đơn vị>)."},
    )
    resp.headers["WWW-Authenticate"] = 'Bearer realm="dieuhanh"'
    return resp


def _answer(unit_code: str, items: int, targets: int, outcomes: list[Outcome]) -> web.Response:
    answer: dict[str, list] = {"delivered": [], "already": [], "failed": []}
    for outcome in outcomes:
        answer[outcome.status].append(outcome.to_json())
    log.info(
        "webhook of %s: %d items × %d units → %d delivered, %d already, %d failed",
        unit_code,
        items,
        targets,
        len(answer["delivered"]),
        len(answer["already"]),
        len(answer["failed"]),
    )
    return _json(200, answer)


def parse_body(body: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Validated items and targets; BadRequest naming the first bad field."""
    if not isinstance(body, dict):
        raise BadRequest("body", 'Nội dung phải là một đối tượng JSON {"items": …, "targets": …}.')
    raw_items = body.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise BadRequest("items", 'Thiếu "items": danh sách các tin cần gửi.')
    if len(raw_items) > MAX_ITEMS:
        raise BadRequest("items", f"Mỗi lần gửi tối đa {MAX_ITEMS} tin.")
    raw_targets = body.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise BadRequest("targets", 'Thiếu "targets": danh sách mã đơn vị nhận tin.')
    if len(raw_targets) > MAX_TARGETS:
        raise BadRequest("targets", f"Mỗi lần gửi tối đa {MAX_TARGETS} đơn vị.")
    targets = []
    for i, code in enumerate(raw_targets):
        if not isinstance(code, str) or not code.strip():
            raise BadRequest(f"targets[{i}]", "Mã đơn vị phải là một chuỗi khác rỗng.")
        targets.append(code.strip())
    items, ids = [], set()
    for i, raw in enumerate(raw_items):
        item = _item(raw, f"items[{i}]")
        if item["id"] in ids:
            raise BadRequest(f"items[{i}].id", f"Mã tin {item['id']!r} bị lặp.")
        ids.add(item["id"])
        items.append(item)
    return items, list(dict.fromkeys(targets))


def _item(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest(where, "Mỗi tin phải là một đối tượng JSON.")
    item_id = raw.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id.strip():
        raise BadRequest(f"{where}.id", 'Thiếu "id": mã của tin trên cổng thông tin.')
    if len(item_id) > MAX_ID_CHARS:
        raise BadRequest(f"{where}.id", f"Mã tin dài quá {MAX_ID_CHARS} ký tự.")
    title = raw.get("title")
    if not isinstance(title, str) or not sanitize.to_text(title):
        raise BadRequest(f"{where}.title", 'Thiếu "title": tiêu đề của tin.')
    link = raw.get("link")
    if link not in (None, "") and not (isinstance(link, str) and sanitize.web_url(link)):
        raise BadRequest(f"{where}.link", '"link" phải là một địa chỉ http(s) đầy đủ.')
    image = raw.get("image")
    if image not in (None, "") and not (isinstance(image, str) and sanitize.web_url(image)):
        raise BadRequest(f"{where}.image", '"image" phải là một địa chỉ http(s) đầy đủ.')
    summary, content = raw.get("summary"), raw.get("content_html")
    for name, value in (("summary", summary), ("content_html", content)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{where}.{name}", f'"{name}" phải là một chuỗi.')
    if content:
        summary_html = sanitize.clean_summary(content)
        summary_text = sanitize.to_text(content)
    else:
        summary_text = " ".join((summary or "").split())
        summary_html = ""
    return {
        "id": item_id.strip(),
        "fields": {
            "title": sanitize.trim(sanitize.to_text(title), MAX_TITLE_CHARS),
            "link": sanitize.web_url(link) if link else None,
            "summary_html": summary_html,
            "summary_text": summary_text,
            "image_url": sanitize.web_url(image) if image else None,
            "published": _published(raw.get("published"), f"{where}.published"),
        },
    }


def _published(value: Any, where: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(
            where, '"published" phải là ngày giờ ISO 8601, ví dụ "2025-09-05T07:30:00+07:00".'
        )
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(
            where, '"published" phải là ngày giờ ISO 8601, ví dụ "2025-09-05T07:30:00+07:00".'
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=post.VIETNAM)
    return when.astimezone(dt.UTC)
