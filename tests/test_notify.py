"""Alerts: against a real HTTP server on 127.0.0.1 and the real trainer on the demo model. The webhook URL is
a secret that no file of the run holds; a webhook that hangs or a command that fails never holds training
up, and leaves a `notify` event saying so."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cockpit.alerts import alert_for
from cockpit.config import NotifyConfig
from cockpit.notify import Notifier
from cockpit.tui.app import CockpitApp
from cockpit.tui.sources import LiveSource
from runhelpers import cockpit, demo_yaml, events, wait_for
from tuihelpers import append, write_run


class Hook:
    """An incoming-webhook endpoint: records every POST; `delay` makes it hang."""

    def __init__(self, delay: float = 0.0):
        self.posts: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                hook.posts.append(
                    {"path": self.path, "json": json.loads(body), "type": self.headers.get("Content-Type")}
                )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def files_holding(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.slow
def test_a_finished_run_posts_one_message_and_no_file_holds_the_url(tmp_path, hook):
    cfg = demo_yaml(tmp_path, training__max_steps=4, samples__every=0, notify__webhook=hook.url)
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (rd,) = list((tmp_path / "runs").iterdir())
    assert len(hook.posts) == 1, hook.posts
    msg = hook.posts[0]
    assert msg["type"] == "application/json" and msg["path"].endswith("/secret-token")
    assert "finished" in msg["json"]["text"] and msg["json"]["kind"] == "finished" and msg["json"]["step"] == 4
    assert files_holding(rd, "secret-token") == [] and "secret-token" not in r.stdout + r.stderr
    assert "<hidden>" in (rd / "config.yaml").read_text()
    assert not [e for e in events(rd) if e["kind"] == "notify"]


@pytest.mark.slow
def test_a_hanging_webhook_and_a_failing_command_never_hold_training(tmp_path):
    slow = Hook(delay=30)
    try:
        out = tmp_path / "alerts.txt"
        cfg = demo_yaml(
            tmp_path,
            training__max_steps=4,
            samples__every=0,
            notify__webhook=slow.url,
            notify__timeout=1.0,
            notify__command=f'echo "$COCKPIT_ALERT_KIND|$COCKPIT_ALERT_STEP|$COCKPIT_ALERT_TEXT" >> {out};'
            f" env | grep -c secret-tok[e]n >> {out}; exit 7",
        )
        t0 = time.monotonic()
        r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert time.monotonic() - t0 < 120
        (rd,) = list((tmp_path / "runs").iterdir())
        # The run's end is written first; the last alerts go out after it (bounded by notify.timeout).
        wait_for(rd, lambda e: e["kind"] == "notify" and e["channel"] == "webhook", timeout=30)
        fails = {e["channel"]: e for e in events(rd) if e["kind"] == "notify"}
        assert fails["webhook"]["ok"] is False and "timed out" in fails["webhook"]["reason"]
        assert fails["command"]["ok"] is False and "exit code 7" in fails["command"]["reason"]
        kind, step, text = out.read_text().splitlines()[0].split("|", 2)
        assert (kind, step) == ("finished", "4") and rd.name in text
        assert out.read_text().splitlines()[1] == "0"  # the command's environment holds no webhook URL
        assert files_holding(rd, "secret-token") == []
    finally:
        slow.close()


def test_rate_limit_lets_the_end_through_and_a_url_never_reaches_an_error(tmp_path):
    got = []
    n = Notifier(
        NotifyConfig(webhook="http://127.0.0.1:9/never-listening-secret", timeout=1.0, min_interval=60),
        "r",
        10.0,
        report=lambda **f: got.append(f),
    )
    n.offer({"kind": "metrics", "step": 1, "grad_norm": 20.0})
    n.offer({"kind": "metrics", "step": 2, "grad_norm": 30.0})  # same kind within min_interval: dropped
    n.offer({"kind": "metrics", "step": 3, "grad_norm": 1.0})  # not an alert
    n.offer({"kind": "state", "state": "finished", "step": 3})
    n.close()
    assert [f["about"] for f in got] == ["threshold", "finished"]
    assert all(f["ok"] is False and "never-listening-secret" not in f["reason"] for f in got)
    assert alert_for({"kind": "metrics", "grad_norm": float("nan")}, "r", 10.0).kind == "threshold"
    assert alert_for({"kind": "eval", "eval_loss": 1.0}, "r", 10.0) is None


def test_a_literal_url_is_hidden_in_the_run_dir_and_env_names_stay():
    c = NotifyConfig(webhook="https://hooks.example/abc")
    assert c.model_dump(mode="json")["webhook"] == "<hidden>"
    hidden = NotifyConfig(webhook="<hidden>")
    assert hidden.webhook_url({"COCKPIT_NOTIFY_WEBHOOK": "https://x/y"}) == "https://x/y"
    named = NotifyConfig(webhook="env:SLACK_HOOK")
    assert named.model_dump(mode="json")["webhook"] == "env:SLACK_HOOK"
    assert named.webhook_url({"SLACK_HOOK": "https://x/z"}) == "https://x/z"
    with pytest.raises(ValueError):
        NotifyConfig(webhook="ftp://nope")


async def test_the_attached_cockpit_rings_the_bell_for_a_guard(tmp_path):
    rd = write_run(tmp_path / "r", pid=os.getpid())
    cfg = json.loads(json.dumps({"notify": {"bell": True, "on": ["guard", "finished"], "min_interval": 300}}))
    lines = rd.events.read_text().splitlines()
    started = json.loads(lines[1])
    started["config"].update(cfg)
    lines[1] = json.dumps(started)
    rd.events.write_text("\n".join(lines) + "\n")
    app = CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path)
    rings = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.bell = lambda: rings.append(1)
        await pilot.pause(0.4)
        assert rings == []  # the history of an attach rings nothing
        append(rd, kind="guard", step=61, rule="grad_norm_explosion", action="stopped", message="x")
        await pilot.pause(0.4)
        append(rd, kind="guard", step=62, rule="grad_norm_explosion", action="stopped", message="x")
        await pilot.pause(0.4)
        assert rings == [1]  # the second one is within min_interval
        append(rd, kind="state", state="finished", step=62)
        await pilot.pause(0.4)
        assert rings == [1, 1]
