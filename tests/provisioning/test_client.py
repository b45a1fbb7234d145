"""The Synapse client's retries, against a local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from provisioning.matrix.client import MatrixClient, MatrixError


class Flaky:
    """Answers each path with a scripted sequence of (status, body)."""

    def __init__(self, script: dict[str, list[tuple[int, dict]]]) -> None:
        self.script = script
        self.calls: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.calls[path] = self.calls.get(path, 0) + 1
        answers = self.script[path]
        status, body = answers[min(self.calls[path] - 1, len(answers) - 1)]
        if status == -1:  # drop the connection
            request.transport.close()
            return web.Response()
        return web.json_response(body, status=status)


async def serve(flaky: Flaky) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", flaky.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


async def test_rate_limits_are_waited_out_and_server_errors_retried():
    flaky = Flaky(
        {
            "/limited": [
                (429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 50}),
                (429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 50}),
                (200, {"ok": 1}),
            ],
            "/broken": [(502, {}), (503, {"error": "busy"}), (500, {}), (200, {"ok": 2})],
            "/dropped": [(-1, {}), (200, {"ok": 3})],
        }
    )
    runner, url = await serve(flaky)
    try:
        async with MatrixClient(url, "token", backoff=0.01) as client:
            assert await client.request("GET", "/limited") == {"ok": 1}
            assert await client.request("GET", "/broken") == {"ok": 2}
            assert await client.request("GET", "/dropped") == {"ok": 3}
    finally:
        await runner.cleanup()
    assert flaky.calls == {"/limited": 3, "/broken": 4, "/dropped": 2}


async def test_permanent_errors_are_raised_at_once_and_persistent_5xx_gives_up():
    flaky = Flaky(
        {
            "/bad": [(400, {"errcode": "M_BAD_JSON", "error": "nope"})],
            "/down": [(503, {"error": "down"})],
        }
    )
    runner, url = await serve(flaky)
    try:
        async with MatrixClient(url, "token", retries=3, backoff=0.01) as client:
            with pytest.raises(MatrixError) as bad:
                await client.request("PUT", "/bad", {})
            assert (bad.value.status, bad.value.errcode) == (400, "M_BAD_JSON")
            with pytest.raises(MatrixError) as down:
                await client.request("GET", "/down")
            assert down.value.status == 503
    finally:
        await runner.cleanup()
    assert flaky.calls == {"/bad": 1, "/down": 4}


async def test_requests_carry_the_token():
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"user_id": "@quantri:x"})

    app = web.Application()
    app.router.add_get("/_matrix/client/v3/account/whoami", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with MatrixClient(f"http://127.0.0.1:{port}", "s3cret") as client:
            assert await client.whoami() == "@quantri:x"
    finally:
        await runner.cleanup()
    assert seen == ["Bearer s3cret"]
    await asyncio.sleep(0)
