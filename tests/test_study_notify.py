"""A literal `notify.webhook` in a study's config: the ledger and the trials hold `<hidden>`, so the
trials alerted nobody, and said so only in their event logs. Now the study hands the URL to its trials
as `cockpit run` does; a continued study, or `cockpit resume`, without the URL is refused at the start."""

from __future__ import annotations

import json
import os

import pytest
from test_notify import Hook

from runhelpers import cockpit, demo_yaml


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.mark.slow
def test_a_study_passes_a_literal_webhook_to_its_trials(tmp_path, hook):
    cfg = demo_yaml(tmp_path, samples__every=0, notify__webhook=hook.url, notify__on=["finished"])
    runs = tmp_path / "runs"
    r = cockpit(
        "study", str(cfg), "--auto", "--max-runs", "1", "--trial-steps", "10", "--runs-dir", str(runs), timeout=600
    )
    assert r.returncode == 1, r.stdout + r.stderr  # paused: the run budget is spent after the baseline
    (study,) = list(runs.iterdir())
    assert (study / "s2-baseline" / "events.jsonl").is_file()
    assert [p["json"]["kind"] for p in hook.posts] == ["finished"], hook.posts
    assert "secret-token" not in (study / "study.json").read_text() + r.stdout + r.stderr
    setup = [json.loads(x) for x in (study / "s2-baseline" / "events.jsonl").read_text().splitlines()]
    assert not [e for e in setup if e["kind"] == "notify" and not e.get("ok")]

    # continued without the URL: refused, naming how to give it
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_NOTIFY_WEBHOOK"}
    r = cockpit_env(env, "study", str(study), "--max-runs", "2")
    assert r.returncode == 2 and "notify.webhook was given as a URL" in r.stderr, r.stderr
    assert f"COCKPIT_NOTIFY_WEBHOOK=URL cockpit study {study}" in r.stderr and "Traceback" not in r.stderr


def cockpit_env(env, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_resume_of_a_run_whose_webhook_url_was_not_kept_is_refused(tmp_path):
    from cockpit.config import config_from_text

    rd = tmp_path / "run"
    (rd / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    text = demo_yaml(tmp_path, notify__webhook="https://hooks.example.invalid/T0/B0/tok").read_text()
    (rd / "config.yaml").write_text(config_from_text(text, check_paths=False).to_yaml())
    assert "<hidden>" in (rd / "config.yaml").read_text()
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_NOTIFY_WEBHOOK"}
    r = cockpit_env(env, "resume", str(rd), "--detach")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"COCKPIT_NOTIFY_WEBHOOK=URL cockpit resume {rd}" in r.stderr and not (rd / "trainer.lock").exists()
