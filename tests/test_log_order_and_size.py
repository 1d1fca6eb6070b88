"""Issue #36 items 9, 13, 14: a log whose steps go backwards, a long trainer_state.json streamed, a
trainer_state.json with bytes that are not UTF-8."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cockpit.advisor.diagnose import main as diagnose
from cockpit.logs import LogError, load_history, state_stream
from cockpit.logs import trainer_state as ts
from cockpit.rundir import ReadStats

ROOT = Path(__file__).resolve().parents[1]
REAL = sorted((ROOT / "tests" / "fixtures" / "real-logs").glob("*.json"))
UNSLOTH = ROOT / "tests" / "fixtures" / "real-logs" / "02_engram-unsloth-60steps.json"


def diagnose_json(path: Path, capsys) -> tuple[int, dict]:
    code = diagnose(str(path), as_json=True)
    return code, json.loads(capsys.readouterr().out)


def state_with(tmp_path: Path, entries: list[dict], name: str = "trainer_state.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"global_step": 100, "max_steps": 100, "log_history": entries}, indent=2))
    return p


def healthy(n: int = 100, explode_at: int | None = None) -> list[dict]:
    out = []
    for s in range(1, n + 1):
        g = 400.0 if explode_at is not None and explode_at <= s < explode_at + 5 else 1.0
        out.append({"step": s, "loss": 2.0 - s / 100, "grad_norm": g, "learning_rate": 1e-4, "epoch": s / n})
    return out


# ---- item 9: steps that go backwards ---------------------------------------------------------------


def test_a_reversed_trainer_state_is_read_in_step_order(tmp_path, capsys):
    state = json.loads(UNSLOTH.read_text())
    state["log_history"].reverse()
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps(state))
    _, want = diagnose_json(UNSLOTH, capsys)
    _, got = diagnose_json(p, capsys)
    assert got["logged"] == want["logged"] == 60  # was 1: only what followed the last step-back
    assert got["steps"] == 60 and got["worst"] == want["worst"]
    assert any("read in step order" in n for n in got["notes"])


def test_a_stray_low_step_does_not_erase_an_explosion(tmp_path, capsys):
    clean = state_with(tmp_path, healthy(explode_at=50), "clean.json")
    stray = state_with(tmp_path, [*healthy(explode_at=50), {"step": 3, "loss": 1.9, "grad_norm": 1.0}], "stray.json")
    _, want = diagnose_json(clean, capsys)
    code, got = diagnose_json(stray, capsys)
    assert want["worst"] in ("danger", "critical")
    assert got["worst"] == want["worst"] and code == 3  # was: 3 steps left, healthy, exit 0
    assert got["logged"] == 100
    assert any("logged twice" in n for n in got["notes"])  # step 3 twice: the later value stands


def test_a_resume_keeps_the_later_values_and_counts_what_it_superseded(tmp_path, capsys):
    first = healthy()[:60]
    again = [dict(e, loss=e["loss"] - 0.01) for e in healthy()[40:]]  # resumed from checkpoint-40
    p = state_with(tmp_path, first + again)
    _, d = diagnose_json(p, capsys)
    h, _ = load_history(p)
    assert d["logged"] == 100 and list(h.steps) == list(range(1, 101))
    assert h.series["loss"][50] == pytest.approx(again[10]["loss"])  # the resumed run's value
    assert d["notes"] == [
        "20 logged steps superseded: the log goes back 1 time to an earlier step and re-logs from there "
        "(a resume); the later values are kept"
    ]


def test_an_ordered_log_says_nothing_about_order(capsys):
    _, d = diagnose_json(UNSLOTH, capsys)
    assert "notes" not in d


# ---- item 13: a long trainer_state.json is streamed ----------------------------------------------------


@pytest.mark.parametrize("piece", [97, 4096, 1 << 20])
def test_streaming_gives_the_events_of_the_whole_parse(monkeypatch, piece):
    def events(path):
        return [_plain(e) for e in ts.trainer_state_events(path, ReadStats())]

    for path in REAL:
        monkeypatch.setattr(ts, "WHOLE_BYTES", 1 << 40)
        want = events(path)
        monkeypatch.setattr(ts, "WHOLE_BYTES", -1)
        monkeypatch.setattr(state_stream, "PIECE", piece)
        assert events(path) == want, path.name


def _plain(ev: dict) -> dict:
    return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in ev.items()}


def test_streaming_keeps_a_few_pieces_in_memory(tmp_path, monkeypatch):
    """Parsed whole, the log's dicts all live at once (4.9 GB for 10,000,000 entries); streamed, a piece's."""
    import sys
    import tracemalloc

    sys.path.insert(0, str(ROOT))
    from bench.gen_formats import trainer_state

    p = trainer_state(60_000, tmp_path / "trainer_state.json")  # 9 MB
    monkeypatch.setattr(state_stream, "PIECE", 256 << 10)

    def peak(whole: int) -> float:
        monkeypatch.setattr(ts, "WHOLE_BYTES", whole)
        tracemalloc.start()
        n = sum(1 for _ in ts.trainer_state_events(p, ReadStats()))
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n == 60_000 + 120 + 2
        return got

    assert peak(-1) * 5 < peak(1 << 40)


def test_a_broken_long_state_names_the_line(tmp_path, monkeypatch):
    p = state_with(tmp_path, healthy(20))
    text = p.read_text().splitlines()
    i = next(i for i in range(30, len(text)) if '": ' in text[i] and text[i].endswith(","))
    text[i] = text[i][:-1] + ";"
    p.write_text("\n".join(text))
    monkeypatch.setattr(ts, "WHOLE_BYTES", -1)
    monkeypatch.setattr(state_stream, "PIECE", 64)
    with pytest.raises(LogError, match=rf"trainer_state.json:{i + 1}:\d+: not valid JSON"):
        load_history(p)


# ---- item 14: bytes that are not UTF-8 -------------------------------------------------------------


@pytest.mark.parametrize("whole", [1 << 40, -1], ids=["parsed whole", "streamed"])
def test_bad_utf8_bytes_are_replaced_and_said(tmp_path, monkeypatch, capsys, whole):
    raw = UNSLOTH.read_bytes()
    i = raw.index(b'"best_model_checkpoint"')
    p = tmp_path / "trainer_state.json"
    p.write_bytes(raw[:i] + b'"note": "caf\xe9 \xff\xfe",\n  ' + raw[i:])  # three bytes no UTF-8 text has
    monkeypatch.setattr(ts, "WHOLE_BYTES", whole)
    code, d = diagnose_json(p, capsys)
    assert code == 0 and d["logged"] == 60  # was: "binary file, not JSON", exit 2
    assert d["notes"] == ["3 bytes that are not UTF-8 text replaced by U+FFFD (the file is damaged there)"]


def test_the_report_says_how_the_log_was_read(tmp_path):
    import subprocess
    import sys

    p = state_with(tmp_path, [*healthy(explode_at=50), {"step": 3, "loss": 1.9, "grad_norm": 1.0}])
    out = tmp_path / "r.html"
    for args in (("--out", str(out)), ()):  # the file, then the terminal (which --out leaves to the file)
        r = subprocess.run(
            [sys.executable, "-m", "cockpit.cli", "report", str(p), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 0, r.stderr
    assert "note: the steps go back 1 time, not as a resume does" in r.stdout
    assert "<p>note: the steps go back 1 time" in out.read_text()
