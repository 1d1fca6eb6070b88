"""The `notify:` section: alerts (bell, command, webhook, desktop) for when nobody is watching."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_serializer, field_validator

from cockpit.config.section import Section
from cockpit.secret_url import url_problem

NOTIFY_EVENTS = ("guard", "crashed", "finished", "stopped", "threshold")
"""What can raise an alert: a guard acting, the run's end (crash, finish, stop), a danger-band crossing."""
WEBHOOK_HIDDEN = "<hidden>"
"""What a literal webhook URL is written as in the run directory (it is a secret)."""


class NotifyConfig(Section):
    """Alerts for when nobody is watching. Each channel is off unless set."""

    bell: bool = False
    """The attached cockpit rings the terminal bell (tmux passes it on as a window alert)."""
    command: str | None = None
    """A shell command run for each alert, with COCKPIT_ALERT_* environment variables (kind, text, run, step)."""
    webhook: str | None = None
    """URL for an HTTP POST of JSON with a `text` field (Slack-style incoming webhooks work), or `env:NAME` to
    read the URL from an environment variable. A secret: never written to the run directory, events or logs."""
    desktop: bool = False
    """A desktop notification through notify-send, when it is installed."""
    on: list[Literal["guard", "crashed", "finished", "stopped", "threshold"]] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS)
    )
    """Which events alert."""
    min_interval: float = Field(300.0, ge=0.0)
    """Seconds between two alerts of the same kind (the run's end always alerts)."""
    timeout: float = Field(10.0, gt=0.0, le=120.0)
    """Seconds a channel may take before it is given up on (training never waits for it)."""

    @field_validator("webhook")
    @classmethod
    def _url_or_env(cls, v: str | None) -> str | None:
        if v is None or v == WEBHOOK_HIDDEN:
            return v
        if v.startswith("env:"):
            if not v[4:].isidentifier():
                raise ValueError("env:NAME needs an environment variable name")
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL or env:NAME")
        problem = url_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_serializer("webhook")
    def _hide_url(self, v: str | None) -> str | None:
        return v if v is None or v.startswith("env:") else WEBHOOK_HIDDEN

    def webhook_url(self, environ: dict[str, str] | None = None) -> str | None:
        """The URL to post to: literal, from `env:NAME`, or (a hidden literal in a run directory) from
        COCKPIT_NOTIFY_WEBHOOK, which `cockpit run` hands to the trainer it starts."""
        import os

        environ = os.environ if environ is None else environ
        v = self.webhook
        if v is None:
            return None
        if v.startswith("env:"):
            return environ.get(v[4:]) or None
        if v == WEBHOOK_HIDDEN:
            return environ.get("COCKPIT_NOTIFY_WEBHOOK") or None
        return v
