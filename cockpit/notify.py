"""The trainer's notifier: alerts to a shell command, a webhook and the desktop, off the training thread.

    notify = Notifier(cfg.notify, run_name, thresholds, report=...)
    events.listen(notify.offer)    # every event written is offered; most are not alerts
    ...
    notify.close()                 # the run's end: waits at most `timeout` for the last alert

`offer` only puts the alert in a queue: a channel that fails or hangs never slows or stops training.
Each channel has `timeout` seconds; a failure is reported once per alert through `report` (the trainer
writes it as a `notify` event). The webhook URL is a secret: it is never in an event, a log line or an
error message (errors are scrubbed of every part of it, `cockpit.secret_url`); one with a space or a
control character is refused at the start, and a redirect is not followed (urllib turned the POST of a
302/303 into a GET without the alert, and counted it sent).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from cockpit.alerts import Alert, alert_for
from cockpit.secret_url import scrub, url_problem


class WebhookRedirect(OSError):
    """The webhook answered with a redirect, which is not followed: the alert did not arrive."""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        fp.close()
        raise WebhookRedirect(
            f"HTTP {code}: the webhook redirects elsewhere, not followed (a redirect would turn the POST "
            "into a GET without the alert); set the URL it redirects to"
        )


_OPENER = urllib.request.build_opener(_RefuseRedirects)


class Notifier:
    def __init__(
        self,
        cfg,
        run: str,
        grad_norm_danger: float,
        report: Callable[..., None] | None = None,
        environ: dict[str, str] | None = None,
    ):
        self.cfg, self.run, self.danger = cfg, run, grad_norm_danger
        self.report = report or (lambda **f: None)
        self.url = cfg.webhook_url(environ)
        problem = url_problem(self.url) if self.url else None
        if problem:
            self.url = None  # never posted to: http.client's refusal would quote its path and query
        self.channels = [
            name
            for name, on in (
                ("command", bool(cfg.command)),
                ("webhook", bool(self.url)),
                ("desktop", cfg.desktop and shutil.which("notify-send")),
            )
            if on
        ]
        self._last: dict[str, float] = {}
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.sent = 0
        if cfg.webhook and not self.url and not problem:
            self.report(
                channel="webhook",
                ok=False,
                about="setup",
                reason="no webhook URL in this process: a literal URL is not kept in the run directory "
                "(it is a secret); set COCKPIT_NOTIFY_WEBHOOK, or write webhook: env:NAME",
            )
        if problem:
            self.report(channel="webhook", ok=False, about="setup", reason=problem)
        if cfg.desktop and not shutil.which("notify-send"):
            self.report(channel="desktop", ok=False, about="setup", reason="notify-send is not installed")

    def offer(self, ev: dict[str, Any]) -> None:
        """Called for every event the trainer writes: cheap for the ones that are not alerts."""
        if not self.channels:
            return
        alert = alert_for(ev, self.run, self.danger)
        if alert is None or alert.kind not in self.cfg.on:
            return
        now = time.monotonic()
        if not alert.final and now - self._last.get(alert.key, -1e18) < self.cfg.min_interval:
            return
        self._last[alert.key] = now
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="cockpit-notify", daemon=True)
            self._thread.start()
        self._queue.put(alert)

    def close(self) -> None:
        """Let the last alerts go out, waiting no longer than each channel's timeout allows."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(self.cfg.timeout * max(1, len(self.channels)) + 1)

    def _work(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            for channel in self.channels:
                try:
                    getattr(self, f"_send_{channel}")(alert)
                    self.sent += 1
                except Exception as e:  # noqa: BLE001 - an alert that fails must never reach training
                    self.report(
                        channel=channel,
                        ok=False,
                        about=alert.kind,
                        step=alert.step,
                        reason=self._scrub(f"{type(e).__name__}: {e}"),
                    )

    def _scrub(self, text: str) -> str:
        return scrub(text, self.url)

    def _fields(self, alert: Alert) -> dict[str, Any]:
        return {"run": self.run, "kind": alert.kind, "text": alert.text, "step": alert.step}

    def _send_webhook(self, alert: Alert) -> None:
        body = json.dumps({"text": alert.text, **self._fields(alert)}).encode()
        req = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "lora-cockpit"},
        )
        with _OPENER.open(req, timeout=self.cfg.timeout) as resp:  # the user's own URL
            if resp.status >= 300:
                raise OSError(f"HTTP {resp.status}")

    def _send_command(self, alert: Alert) -> None:
        env = {
            **os.environ,
            **{f"COCKPIT_ALERT_{k.upper()}": "" if v is None else str(v) for k, v in self._fields(alert).items()},
        }
        env.pop("COCKPIT_NOTIFY_WEBHOOK", None)  # the user's command has no need of the secret
        r = subprocess.run(
            self.cfg.command,
            shell=True,
            env=env,
            timeout=self.cfg.timeout,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if r.returncode != 0:
            tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise OSError(f"exit code {r.returncode} {tail[0][:200]}".strip())

    def _send_desktop(self, alert: Alert) -> None:
        subprocess.run(
            ["notify-send", "lora-cockpit", alert.text],
            timeout=self.cfg.timeout,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
