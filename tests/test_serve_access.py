"""Who may open `cockpit serve`'s page and socket: the holder of the printed key, from the served page, a
few at a time. A hostile WebSocket client (no key, a wrong key, a foreign Origin, one session too many)
and a real browser (the printed URL works; a page on another local port cannot reach the socket even
with the key's cookie in the same browser, since cookies ignore ports) against the real server."""

from __future__ import annotations

import asyncio
import http.server
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import psutil
import pytest
from test_serve import FIRST_BYTE, start_serving, stop_serving

from runhelpers import ROOT
from tuihelpers import write_run

sys.path.insert(0, str(ROOT / "bench"))
from chromium import CHROMIUM, Cdp, devtools_page, free_port  # noqa: E402

pytest.importorskip("textual_serve")


class Served:
    def __init__(self, tmp_path: Path, *args: str):
        rd = write_run(tmp_path / "served-run", state="finished")
        self.port = free_port()
        self.proc = start_serving(str(rd.path), *args, port=self.port)
        self.printed = self.proc.stdout.readline()
        found = re.search(rf"at (http://127\.0\.0\.1:{self.port}/\?key=([\w-]+))\s", self.printed)
        assert found, self.printed
        self.url, self.key = found.groups()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cookie = {f"cockpit-serve-{self.port}": self.key}

    def attached(self) -> int:
        """`cockpit attach` processes the server runs now (one per session); a closed tab's, ending, is not."""
        running = 0
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                running += p.status() != psutil.STATUS_ZOMBIE and "attach" in p.cmdline()
            except psutil.Error:  # ended meanwhile
                pass
        return running


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path, "--max-sessions", "2")
    yield s
    if s.proc.poll() is None:
        stop_serving(s.proc)


def status(url: str, cookie: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(req, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


def test_the_page_needs_the_printed_key(served):
    assert "share it as you would a password" in served.proc.stdout.readline()
    assert status(f"{served.base}/") == 403
    assert status(f"{served.base}/?key=not-the-key") == 403
    assert status(f"{served.base}/static/js/textual.js") == 403  # nothing is served without the key
    assert status(f"{served.base}/static/js/textual.js", f"cockpit-serve-{served.port}=guess") == 403
    r, html = open_printed_url(served)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "fonts.googleapis.com" not in html and not re.search(r"(src|href)=\"https?://", html)
    assert "/static/fonts/RobotoMono" in html  # the font from this machine instead


def open_printed_url(served: Served):
    """The printed URL as a browser takes it: 303 to the bare page with the key in a cookie, then the page."""
    r = urllib.request.build_opener(urllib.request.HTTPCookieProcessor()).open(served.url, timeout=10)
    assert r.url == f"{served.base}/"  # the key left the address bar
    return r, r.read().decode()


async def _socket(served: Served, origin: str | None, cookie: dict | None):
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession(cookies=cookie) as session:
        try:
            async with session.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=80&height=24", headers=headers) as ws:
                msg = await ws.receive(timeout=30)  # the app's first bytes: a session with a cockpit behind it
                return msg.type
        except aiohttp.WSServerHandshakeError as e:
            return e.status


@pytest.mark.parametrize(
    "origin, cookie, why",
    [
        ("same", None, "no key"),
        ("same", "wrong", "a wrong key"),
        ("http://evil.example", "key", "another site's page"),
        ("http://127.0.0.1:1", "key", "a page on another port of this machine"),
        (None, "key", "no Origin"),
    ],
)
def test_a_hostile_socket_gets_no_session(served, origin, cookie, why):
    origin = served.base if origin == "same" else origin
    jar = {"key": served.cookie, "wrong": {f"cockpit-serve-{served.port}": "wrong"}, None: None}[cookie]
    assert asyncio.run(_socket(served, origin, jar)) == 403, why
    assert served.attached() == 0  # refused before any cockpit process was started


def test_sessions_are_capped(served):
    async def scenario():
        headers = {"Origin": served.base}
        url = f"ws://127.0.0.1:{served.port}/ws?width=80&height=24"
        async with aiohttp.ClientSession(cookies=served.cookie) as session:
            first = await session.ws_connect(url, headers=headers)
            second = await session.ws_connect(url, headers=headers)
            for ws in (first, second):
                await ws.receive(timeout=30)
            attached = served.attached()
            with pytest.raises(aiohttp.WSServerHandshakeError) as third:
                await session.ws_connect(url, headers=headers)
            await first.close()
            for _ in range(50):  # the server notices the close, then its slot is free again
                await asyncio.sleep(0.1)
                if served.attached() < attached:
                    break
            again = await session.ws_connect(url, headers=headers)
            await again.receive(timeout=30)
            await again.close()
            await second.close()
            return attached, third.value.status

    attached, refused = asyncio.run(scenario())
    assert attached == 2 and refused == 503
    deadline = time.monotonic() + 30
    while served.attached() and time.monotonic() < deadline:  # the closed tabs' processes end
        time.sleep(0.2)
    stop_serving(served.proc)
    said = served.proc.stdout.read()  # the terminal that serves says a socket was refused, and why
    assert "refused a socket: 2 sessions open (--max-sessions)" in said, said


def test_public_needs_the_key_too(tmp_path):
    s = Served.__new__(Served)
    rd = write_run(tmp_path / "served-run", state="finished")
    s.port = free_port()
    s.proc = start_serving(str(rd.path), "--public", "--host", "127.0.0.1", port=s.port)
    try:
        assert "?key=" in s.proc.stdout.readline()
        assert status(f"http://127.0.0.1:{s.port}/") == 403
    finally:
        stop_serving(s.proc)


HOSTILE_PAGE = """<html><body><script>
window.result = "pending";
const ws = new WebSocket("ws://127.0.0.1:{port}/ws?width=80&height=24");
ws.onopen = () => window.result = "opened";
ws.onmessage = () => window.result = "steering";
ws.onerror = () => {{ if (window.result === "pending") window.result = "refused"; }};
</script></body></html>"""


def _hostile_site(port: int, page: str) -> http.server.ThreadingHTTPServer:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def _browse(served: Served, url: str, hostile_url: str | None = None) -> dict:
    """One browser: the printed URL (the page draws, the key is now a cookie of 127.0.0.1), then another
    page on this machine that tries the socket with that cookie."""
    async with devtools_page(1280, 800) as cdp:
        await cdp("Page.navigate", url=url)
        seen = {"drawn": await _until(cdp, FIRST_BYTE, 60)}
        seen["address"] = await cdp.eval("location.href")
        seen["fetched"] = await cdp.eval("performance.getEntriesByType('resource').map(e => e.name)")
        seen["sessions"] = served.attached()
        if hostile_url is None:
            return seen
        await cdp("Page.navigate", url=hostile_url)
        seen["hostile"] = await _until(cdp, "window.result !== 'pending' && window.result", 20)
        # the served page's session ends once the browser left it, and no other begins
        seen["sessions_after"] = await _until_async(lambda: served.attached() == 0, 20)
        return seen


async def _until_async(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.25)
    return True


async def _until(cdp: Cdp, expression: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await cdp.eval(expression)
        if value:
            return value
        await asyncio.sleep(0.25)
    return None


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: the browser test needs a headless browser")
def test_a_browser_with_the_key_is_served_and_another_page_in_it_is_not(served):
    hostile_port = free_port()
    site = _hostile_site(hostile_port, HOSTILE_PAGE.format(port=served.port))
    try:
        seen = asyncio.run(_browse(served, served.url, f"http://127.0.0.1:{hostile_port}/"))
    finally:
        site.shutdown()
    assert seen["drawn"] and seen["address"] == f"{served.base}/", seen  # drawn, and the key left the address bar
    assert seen["fetched"] and all(u.startswith(f"{served.base}/") for u in seen["fetched"]), seen["fetched"]
    assert seen["sessions"] == 1
    # the browser sends 127.0.0.1's cookie to 127.0.0.1:PORT from a page on another port: the Origin stops it
    assert seen["hostile"] == "refused", seen
    assert seen["sessions_after"], "a cockpit process still runs after the served page was left"


class Tunnel:
    """What `ssh -L OTHER:127.0.0.1:PORT` does on the laptop: a local port relaying to the served one."""

    def __init__(self, to_port: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.to_port = self.listener.getsockname()[1], to_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.to_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket):
        try:
            while data := a.recv(65536):
                b.sendall(data)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.listener.close()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: the browser test needs a headless browser")
def test_the_printed_url_works_through_a_tunnel_on_another_local_port(served):
    tunnel = Tunnel(served.port)
    try:
        url = served.url.replace(f":{served.port}/", f":{tunnel.port}/")
        seen = asyncio.run(_browse(served, url))
    finally:
        tunnel.close()
    # the page's scripts and its socket follow the address the browser used, not the served port
    assert seen["drawn"] and seen["address"] == f"http://127.0.0.1:{tunnel.port}/", seen
    assert all(u.startswith(f"http://127.0.0.1:{tunnel.port}/") for u in seen["fetched"]), seen["fetched"]
    assert seen["sessions"] == 1
