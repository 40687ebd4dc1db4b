"""A round-robin HTTP forwarder on 127.0.0.1: what nginx's ``upstream`` does in front of several workers.

``POST /telegram`` to the forwarder goes to worker A, the next to worker B, and so on (same path, same
body, the ``X-Telegram-Bot-Api-Secret-Token`` and ``Content-Type`` headers passed through); the worker's
status and body come back. A worker that refuses the connection is skipped for the next one, like
nginx's ``proxy_next_upstream error`` (a request already sent is not retried: it is a POST); when none
answers, 502. ``routed`` keeps which worker got which
update, so a test can tell where each of a member's updates was handled.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass

import aiohttp
from aiohttp import web

PASSED_HEADERS = ("X-Telegram-Bot-Api-Secret-Token", "Content-Type")


@dataclass(frozen=True)
class Routed:
    """One forwarded request: the update id it carried (None if not JSON), the worker, its status."""

    update_id: int | None
    worker: str
    status: int


class RoundRobinForwarder:
    """Forwards each request to the next worker of ``workers`` (name → base URL, e.g. ``http://127.0.0.1:P``)."""

    def __init__(self, workers: dict[str, str]) -> None:
        if not workers:
            raise ValueError("no workers")
        self.workers = dict(workers)
        self.routed: list[Routed] = []
        self.base_url = ""
        self._turn = itertools.cycle(list(self.workers))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        """Serve on an ephemeral 127.0.0.1 port; returns the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def worker_of(self, update_id: int) -> str:
        """The worker that answered the request carrying ``update_id`` (AssertionError if none did)."""
        found = [r.worker for r in self.routed if r.update_id == update_id and r.status < 500]
        assert found, f"update {update_id} was not forwarded to any worker: {self.routed}"
        return found[-1]

    async def wait_ready(self, path: str, *, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Poll every worker until it accepts connections on ``path`` (any HTTP answer will do)."""
        assert self._session is not None, "start() first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for name, base in self.workers.items():
            while True:
                try:
                    async with self._session.get(f"{base}/{path.lstrip('/')}") as response:
                        await response.read()
                        break
                except aiohttp.ClientConnectorError:
                    if loop.time() > deadline:
                        raise AssertionError(f"worker {name} ({base}) never listened") from None
                    await asyncio.sleep(0.05)

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {h: request.headers[h] for h in PASSED_HEADERS if h in request.headers}
        update_id = _update_id(body)
        for _ in range(len(self.workers)):
            name = next(self._turn)
            url = f"{self.workers[name]}/{request.match_info['path']}"
            try:
                async with self._session.request(request.method, url, data=body, headers=headers) as answer:
                    payload = await answer.read()
                    self.routed.append(Routed(update_id, name, answer.status))
                    return web.Response(status=answer.status, body=payload,
                                        content_type=answer.content_type or "text/plain")
            except aiohttp.ClientConnectorError:  # refused: nothing was sent, the next worker may have it
                self.routed.append(Routed(update_id, name, 502))
            except aiohttp.ClientConnectionError:  # dropped after sending: not retried (a POST, like nginx)
                self.routed.append(Routed(update_id, name, 502))
                return web.Response(status=502, text="worker went away")
        return web.Response(status=502, text="no worker answered")


def _update_id(body: bytes) -> int | None:
    try:
        value = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None
