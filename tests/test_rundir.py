"""The run-directory contract: event/command schemas, torn lines, unknown kinds, lock, permissions."""

import json
import os
import re
import stat
from pathlib import Path

import pytest

from cockpit.history import History
from cockpit.rundir import (
    EVENT_KINDS,
    EventWriter,
    LockHeld,
    ReadStats,
    RunDir,
    Tail,
    acquire_lock,
    append_command,
    control_file_problem,
    new_command,
    parse_command,
    read_events,
    release_lock,
)


def test_event_round_trip_keeps_nan(tmp_path):
    rd = RunDir(tmp_path / "r").create()
    with EventWriter(rd.events) as w:
        w.write("metrics", step=1, loss=float("nan"), grad_norm=float("inf"))
    (ev,) = list(read_events(rd.events))
    assert ev["v"] == 1 and ev["kind"] == "metrics" and ev["loss"] != ev["loss"] and ev["grad_norm"] == float("inf")


def test_torn_last_line_and_corrupt_lines(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_text(
        '{"v":1,"t":1,"kind":"metrics","step":1}\nnot json\n[1,2]\n{"v":1,"t":2,"kind":"fancy_new","x":1}\n'
        '{"v":1,"t":3,"kind":"metr'
    )
    st = ReadStats()
    evs = list(read_events(p, st))
    assert [e["kind"] for e in evs] == ["metrics", "fancy_new"]
    assert st.bad == 2 and st.torn_tail
    h = History().extend(evs)
    assert len(h) == 1 and h.other[0]["kind"] == "fancy_new"


def test_tail_holds_back_torn_line_until_complete(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_bytes(b'{"kind":"metrics","step":1}\n{"kind":"met')
    t = Tail(p)
    assert [e["step"] for e in t.poll()] == [1]
    assert t.poll() == []
    with open(p, "ab") as f:
        f.write(b'rics","step":2}\n')
    assert [e["step"] for e in t.poll()] == [2]


def test_commands_round_trip_and_permissions(tmp_path):
    rd = RunDir(tmp_path / "r").create()
    assert stat.S_IMODE(rd.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(rd.control.stat().st_mode) == 0o600
    c = append_command(rd, new_command("scale_lr", 0.5))
    line = rd.control.read_text().strip()
    assert parse_command(line) == json.loads(line) and json.loads(line)["id"] == c["id"]
    assert parse_command("garbage") is None and parse_command('{"no": "cmd"}') is None
    assert control_file_problem(rd.control) is None
    os.chmod(rd.control, 0o666)
    assert "writable by other users" in control_file_problem(rd.control)


def test_lock_refuses_live_pid_and_takes_over_stale(tmp_path):
    rd = RunDir(tmp_path / "r").create()
    assert acquire_lock(rd) is None
    with pytest.raises(LockHeld):
        acquire_lock(rd, pid=os.getpid() + 1)  # another (pretend) process while we hold it
    release_lock(rd)
    rd.lock.write_text("999999999 somehost\n")
    note = acquire_lock(rd)
    assert note and "stale lock" in note
    release_lock(rd)


def test_history_resume_truncates_superseded_steps():
    h = History()
    for s in (1, 2, 3, 4):
        h.add({"kind": "metrics", "step": s, "loss": 1.0 / s})
    h.add({"kind": "state", "state": "resumed"})
    h.add({"kind": "metrics", "step": 3, "loss": 0.3})
    assert list(h.steps) == [1, 2, 3] and h.series["loss"][-1] == 0.3


def test_last_event_reads_backwards(tmp_path):
    p = tmp_path / "events.jsonl"
    with EventWriter(p) as w:
        w.write("state", state="running")
        for i in range(5000):
            w.write("metrics", step=i, loss=1.0)
        w.write("state", state="paused", step=4999)
        w.write("metrics", step=5000)
    from cockpit.rundir import last_event

    assert last_event(p, "state")["state"] == "paused"
    assert last_event(p, "ack") is None
    assert last_event(tmp_path / "missing", "state") is None


_WRITTEN_KIND = re.compile(r'\b(?:write|emit)\(\s*"([a-z_]+)"|"kind":\s*"([a-z_]+)"|\bkind="([a-z_]+)"')


def test_every_kind_written_is_a_known_kind_and_documented():
    """EVENT_KINDS and docs/CONTRACTS.md must name every kind a writer puts in events.jsonl (`summary` was
    written for months before either named it)."""
    root = Path(__file__).resolve().parents[1]
    written = {}
    for path in (root / "cockpit").rglob("*.py"):
        for m in _WRITTEN_KIND.finditer(path.read_text(encoding="utf-8")):
            written.setdefault(next(g for g in m.groups() if g), path.relative_to(root))
    assert len(written) >= 10, f"the writers no longer match the scan: {sorted(written)}"
    unknown = {k: str(p) for k, p in written.items() if k not in EVENT_KINDS}
    assert not unknown, f"kinds written but not in rundir.EVENT_KINDS: {unknown}"
    contracts = (root / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    events_doc = contracts[contracts.index("## Events") : contracts.index("## Commands")]
    undocumented = [k for k in EVENT_KINDS if f"- `{k}`:" not in events_doc]
    assert not undocumented, f"kinds with no entry in docs/CONTRACTS.md: {undocumented}"
