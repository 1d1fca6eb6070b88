"""Shared test fixtures."""

from __future__ import annotations

import os
import signal
import tempfile

import pytest

# Every trainer, merge and in-process model in the suite is the tiny demo model, and many tests run the
# cockpit or a second trainer beside it. With torch's default of one OpenMP thread per core, threads spin
# against whatever else runs: a 200-step demo run trained in 14 s with two threads on an idle 2-core
# machine, 20 s with one; with the other core busy, an 80-step run took 237 s with two threads and 18 s
# with one (bench/README.md, "The suite's threads"). One thread trades a little idle speed for a suite that
# does not stall when the machine is shared.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Long logs read by the suite (and by the commands it starts) are cached in a folder of the suite's own,
# never in the user's ~/.cache; removed with the session.
_CACHE = tempfile.TemporaryDirectory(prefix="cockpit-test-cache-")
os.environ["COCKPIT_CACHE_DIR"] = os.path.join(_CACHE.name, "histories")


@pytest.fixture(autouse=True)
def _no_stray_trainers(tmp_path):
    """A failing test must not leave a trainer training for the rest of the suite: kill every process
    whose command line mentions this test's tmp_path."""
    yield
    try:
        import psutil
    except ImportError:
        return
    me = os.getpid()
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if p.info["pid"] != me and str(tmp_path) in cmd:
            try:
                os.kill(p.info["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path, monkeypatch):
    """The cockpit keeps the operator's chart picks under $XDG_CONFIG_HOME (cockpit.chart_choice): each
    test gets its own, so a pick made by hand on this machine cannot change a snapshot."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
