"""Headless chromium for the README pictures and the browser tests.

`screenshot` renders a static page (the HTML report, an SVG screenshot) to PNG with chromium's own
`--screenshot`. A live page (the cockpit served by textual-serve) draws only after its websocket has
brought the app's first frames, which `--screenshot` does not wait for (its virtual time runs out first):
`live_screenshot` drives chromium over the DevTools protocol instead, waits until the page says it is
ready, lets it settle, then captures it. aiohttp (a dependency of textual-serve) speaks the websocket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _flags(profile: str, width: int, height: int) -> list[str]:
    # A profile of its own: several chromiums on one machine must not share (and lock) the default one.
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ]


def screenshot(url: str, out: Path, width: int, height: int, timeout: float = 60) -> Path:
    """A PNG of a page that is complete once loaded (a file:// URL or a static server's)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(
            [*_flags(profile, width, height), "--virtual-time-budget=3000", f"--screenshot={out}", url],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cdp:
    """One DevTools page session: `await cdp("Method", **params)` returns the method's result."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def __call__(self, method: str, **params):
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive in between; the answer is the message with our id
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    async def eval(self, expression: str):
        result = await self("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def devtools_page(width: int, height: int):
    """A headless chromium of its own (own profile) and its one page, as a `Cdp` to drive it."""
    import aiohttp

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.Popen(
            [*_flags(profile, width, height), f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            async with aiohttp.ClientSession() as session:
                targets = await _targets(session, port, deadline=time.monotonic() + 30)
                page = next(t for t in targets if t.get("type") == "page")
                async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    yield Cdp(ws)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def _live(
    url: str, width: int, height: int, ready: str, settle: float, timeout: float, probe: str | None, while_open
):
    async with devtools_page(width, height) as cdp:
        await cdp("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not await cdp.eval(ready):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: not ready after {timeout:g}s ({ready})")
            await asyncio.sleep(0.25)
        await asyncio.sleep(settle)
        probed = await cdp.eval(probe) if probe else None
        if while_open is not None:
            while_open()
        shot = await cdp("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"]), probed


async def _targets(session, port: int, deadline: float) -> list[dict]:
    import aiohttp

    while True:
        try:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as r:
                return await r.json()
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def live_screenshot(
    url: str,
    out: Path | None,
    width: int,
    height: int,
    *,
    ready: str,
    settle: float = 2.0,
    timeout: float = 60,
    probe: str | None = None,
    while_open=None,
):
    """Load `url`, wait until the JavaScript `ready` is truthy, wait `settle` seconds more, then save a PNG
    to `out` (if given). Returns the value of the JavaScript `probe` evaluated just before the capture;
    `while_open()` is called then too, while the page is still connected."""
    png, probed = asyncio.run(_live(url, width, height, ready, settle, timeout, probe, while_open))
    if out is not None:
        Path(out).write_bytes(png)
    return probed
