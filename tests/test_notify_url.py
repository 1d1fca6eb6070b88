"""A webhook URL is a secret (Slack-style: the token is its path): a copy-paste mistake in it (a stray
space, a control character) is refused without quoting any part of it, no message ever holds a part of
it, and a redirect is not followed (urllib turned the POST of a 302/303 into a GET without the alert, and
counted it sent). Against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cockpit.config import NotifyConfig
from cockpit.notify import Notifier
from cockpit.secret_url import scrub
from runhelpers import cockpit, demo_yaml

TOKEN = "T000/B000/XXXXsecretXXXX"
FINISHED = {"kind": "state", "state": "finished", "step": 3}


class Site:
    """`POST /services/...` answers `status` (a redirect to /landing when 3xx); every request is recorded."""

    def __init__(self, status: int = 200):
        self.requests: list[tuple[str, str, bytes]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                site.requests.append((self.command, self.path, body))
                code = status if self.path.startswith("/services/") else 200
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", f"/landing?token={TOKEN}")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def notify(url: str) -> tuple[Notifier, list[dict]]:
    got: list[dict] = []
    n = Notifier(
        NotifyConfig(webhook="env:HOOK", timeout=5.0),
        "r",
        10.0,
        report=lambda **f: got.append(f),
        environ={"HOOK": url},
    )
    n.offer(FINISHED)
    n.close()
    return n, got


@pytest.mark.parametrize("stray", [" ", "\n", "\x07", "\t"], ids=["space", "newline", "bell", "tab"])
@pytest.mark.parametrize("where", ["end", "middle"])
def test_a_url_with_a_stray_character_is_refused_without_quoting_it(stray, where):
    site = Site()
    try:
        url = f"{site.base}/services/{TOKEN}"
        url = url + stray if where == "end" else url.replace("/B000", stray + "/B000")
        n, got = notify(url)
    finally:
        site.close()
    assert site.requests == [] and n.sent == 0
    assert [(f["channel"], f["about"]) for f in got] == [("webhook", "setup")], got
    reason = got[0]["reason"]
    assert "copy-paste" in reason and "XXXXsecretXXXX" not in reason and "services" not in reason
    assert "T000" not in json.dumps(got)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_not_counted_sent(status):
    site = Site(status)
    try:
        n, got = notify(f"{site.base}/services/{TOKEN}")
    finally:
        site.close()
    assert [r[:2] for r in site.requests] == [("POST", f"/services/{TOKEN}")]  # no GET of the landing page
    assert n.sent == 0 and len(got) == 1 and got[0]["about"] == "finished"
    assert f"HTTP {status}: the webhook redirects elsewhere, not followed" in got[0]["reason"]
    assert "XXXXsecretXXXX" not in json.dumps(got)


def test_every_part_of_the_url_is_scrubbed():
    url = f"https://user:pw1234@hooks.example.com/services/{TOKEN}?token=abcd1234&x=1"
    for message in (
        f"URL can't contain control characters. '/services/{TOKEN}?token=abcd1234&x=1' (found at least ' ')",
        f"HTTPSConnectionPool(host='hooks.example.com'): /services/{TOKEN}",
        "bad token abcd1234, user pw1234",
        f"escaped {repr('/services/' + TOKEN + chr(7))}",
        "percent %2Fservices%2F" + TOKEN.replace("/", "%2F"),
    ):
        out = scrub(message, url)
        for secret in ("XXXXsecretXXXX", "abcd1234", "pw1234", "hooks.example.com", "T000"):
            assert secret not in out, (message, out)
    assert scrub("HTTP 404", url) == "HTTP 404"


def test_a_literal_url_with_a_stray_space_is_refused_by_the_config_without_quoting_it(tmp_path):
    with pytest.raises(ValueError, match="copy-paste") as e:
        NotifyConfig(webhook=f"https://hooks.example.com/services/{TOKEN} ")
    assert "copy-paste" in str(e.value)
    for bad in (f"https://hooks.example.com/services/{TOKEN}\a", f"ftp://hooks.example.com/{TOKEN}"):
        cfg = demo_yaml(tmp_path, notify__webhook=bad)
        r = cockpit("validate", str(cfg), timeout=60)
        assert r.returncode == 2 and "notify.webhook" in r.stderr, r.stderr
        assert "XXXXsecretXXXX" not in r.stdout + r.stderr and "hooks.example.com" not in r.stderr
