"""The bridge's public HTTP listener (``web.listen_host:web.listen_port``): the admin page
"Gửi thông báo" (``/_dieuhanh/gui-thong-bao``) and the CMS webhook
(``POST /_dieuhanh/api/tin-tuc``).

Kept apart from the appservice listener (``bridge.listen_*``), which only Synapse should
reach: a reverse proxy publishes ``/_dieuhanh/gui-thong-bao`` and ``/_dieuhanh/api/tin-tuc``
of this listener next to the homeserver.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.web.pages import BASE, Pages
from bridge.webhook import PATH as WEBHOOK_PATH
from bridge.webhook import Webhook

STATIC = {
    "style.css": "text/css",
    "app.js": "text/javascript",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _secure(response, request)
        raise
    _secure(response, request)
    return response


def _secure(response: web.StreamResponse, request: web.Request) -> None:
    if request.path.startswith(BASE):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(f"{BASE}/static/"):
            response.headers.setdefault("Cache-Control", "no-store")


def make_web_app(service: Any) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=1024 * 1024)
    pages = Pages(service)
    webhook = Webhook(service)
    app.router.add_post(WEBHOOK_PATH, webhook.handle)
    app.router.add_get(BASE, pages.index)
    app.router.add_post(BASE, pages.send)
    app.router.add_get(f"{BASE}/dang-nhap", pages.login_page)
    app.router.add_post(f"{BASE}/dang-nhap", pages.login)
    app.router.add_post(f"{BASE}/lay-ma", pages.request_code)
    app.router.add_post(f"{BASE}/dang-xuat", pages.logout)
    app.router.add_get(f"{BASE}/static/{{name}}", _static)
    app.router.add_get("/", _to_page)
    return app


async def _to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(BASE)


async def _static(request: web.Request) -> web.StreamResponse:
    from importlib.resources import files

    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    data = files("bridge.web").joinpath("static", name).read_bytes()
    return web.Response(
        body=data,
        content_type=STATIC[name],
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
