"""Who may open the served cockpit: the holder of this serve's secret, from the served page, a few at a time.

The served page steers the run (pause, lr, stop), and a port on 127.0.0.1 belongs to every local user and,
through the operator's SSH tunnel, to every web page open in the operator's browser (a WebSocket is not
bound by the same-origin policy). So, on top of textual-serve's aiohttp app:

- every request needs the per-serve secret: the printed URL carries it once (`/?key=SECRET`); the page
  moves it into an HttpOnly, SameSite=Strict cookie and out of the address bar, and every later request
  (the page, its scripts, the socket, a reload) is checked against that cookie;
- the socket is refused unless its Origin is the page's own (scheme and host the browser used): another
  page, even one on another port of the same machine, gets no session;
- at most `max_sessions` sockets at once: each one is a `cockpit attach` process (~60 MB);
- the page loads nothing from outside the machine: textual-serve's web font link goes, its own copy of the
  font is served instead, and a Content-Security-Policy keeps every fetch on this server.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets

from aiohttp import web

KEY = "key"
"""The query parameter of the printed URL that carries the secret."""

REFUSED = (
    "403: this cockpit needs the key of the `cockpit serve` that serves it. Open the URL it printed "
    "(http://HOST:PORT/?key=...); a key from an earlier serve no longer works.\n"
)
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'"
)
"""Everything from this server: the page's own inline script and styles (textual-serve's template), no
other site's fonts, scripts or sockets, and no framing by another page."""
REMOTE_STYLESHEET = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", re.S)
LOCAL_FONT = (
    '<style>@font-face {{ font-family: "Roboto Mono"; '
    'src: url("{static}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype"); }}</style>'
)
# The page's socket goes back to the address the browser used (an SSH tunnel's local port may differ from
# the served one, and "localhost" is another origin than "127.0.0.1"): textual-serve writes an absolute URL.
# And the terminal starts once the font is there: xterm.js sizes its grid by the font it measures at start,
# and a font arriving after that left a fifth of the window empty.
PAGE_START = """<script>
document.getElementById("terminal").dataset.sessionWebsocketUrl =
  (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const startTerminal = window.onload;
window.onload = (e) => document.fonts.load('16px "Roboto Mono"').finally(() => startTerminal(e));
</script>"""


log = logging.getLogger("cockpit.serve")
"""Refused sockets are said in the terminal that serves (a warning, which the quiet server still shows):
someone tried to steer the run."""


def new_secret() -> str:
    """192 random bits, URL-safe: guessing it is out of reach, so it needs no rate limit."""
    return secrets.token_urlsafe(24)


class Access:
    """The checks, given the secret, the port (cookies are per host, not per port: two serves on one
    machine need two cookie names) and the session cap."""

    def __init__(self, secret: str, port: int, max_sessions: int):
        self.secret, self.cookie, self.max_sessions = secret, f"cockpit-serve-{port}", max_sessions
        self.sessions = 0

    def _is_secret(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self.secret.encode())

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        """Every request holds the cookie, or is the printed URL (which sets it); anything else is a 403."""
        if self._is_secret(request.cookies.get(self.cookie)):
            return await handler(request)
        if request.path == "/" and self._is_secret(request.query.get(KEY)):
            rest = {k: v for k, v in request.query.items() if k != KEY}
            response = web.Response(status=303, headers={"Location": str(request.rel_url.with_query(rest))})
            response.set_cookie(self.cookie, self.secret, httponly=True, samesite="Strict", path="/")
            return response
        if request.path == "/ws":
            log.warning("refused a socket without this serve's key (from %s)", request.remote)
        return web.Response(status=403, text=REFUSED)

    def socket_refusal(self, request: web.Request) -> web.Response | None:
        """Why this WebSocket handshake gets no session (a response to send instead), or None."""
        own = f"{request.scheme}://{request.host}".lower()
        origin = request.headers.get("Origin", "").lower()
        if origin != own:
            log.warning("refused a socket from %s (Origin %s, not this page)", request.remote, origin or "none")
            return web.Response(
                status=403, text=f"403: a socket from {origin or 'no page'} is refused; only {own} opens one.\n"
            )
        if self.sessions >= self.max_sessions:
            log.warning("refused a socket: %d sessions open (--max-sessions)", self.sessions)
            return web.Response(
                status=503,
                text=f"503: {self.sessions} sessions are open, the most this serve allows (--max-sessions); "
                "close a tab and reload.\n",
            )
        return None

    def page(self, html: str, static: str) -> str:
        """textual-serve's page with nothing fetched from elsewhere, static files and the socket relative
        to the address the browser used."""
        html = html.replace(static, "/static/")  # first: textual-serve's own stylesheet is an absolute URL
        html = REMOTE_STYLESHEET.sub(LOCAL_FONT.format(static="/static/"), html)
        return html.replace("</body>", PAGE_START + "\n</body>")

    def page_headers(self, request: web.Request) -> dict[str, str]:
        ws = ("wss://" if request.scheme == "https" else "ws://") + request.host
        return {
            "Content-Security-Policy": CSP.format(ws=ws),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        }
