"""The cache of long logs' Histories (cockpit.logs.cache): a second read of an unchanged log comes from it and
gives what the first gave; a changed log, other reading code, a torn entry or a folder others can write is
never trusted; a run still training is not kept."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.history import History
from cockpit.logs import cache, load_history
from cockpit.logs.loaded import LoadedLog
from cockpit.logs.preload import Preload

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
LOGS = [
    FIXTURES / "real-logs" / "01_ab-verifier-qwen05-full.json",
    FIXTURES / "real-logs-2" / "41_kg-llm-5epochs-nan-gradnorm-lr0.json",
    FIXTURES / "formats" / "lf_qwen25-medical-eval.jsonl",
    FIXTURES / "formats" / "lf_luojiu-7b-old-null-layout.jsonl",
    FIXTURES / "formats" / "console_lora-alpaca-logging.log",
    FIXTURES / "trackers" / "generated" / "tensorboard",
    FIXTURES / "trackers" / "generated" / "wandb",
    FIXTURES / "trackers" / "generated" / "mlflow",
    FIXTURES / "trackers" / "generated" / "trackio",
]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A cache of its own for the test, keeping logs of any size."""
    d = tmp_path / "cache"
    monkeypatch.setenv("COCKPIT_CACHE_DIR", str(d))
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    return d


def entries(d: Path) -> list[Path]:
    return sorted(d.glob("*.pickle")) if d.is_dir() else []


def wait_for_entry(d: Path, n: int = 1, timeout: float = 20.0) -> list[Path]:
    """The detached writer's entries, once there are n (it runs beside the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = entries(d)
        if len(got) >= n:
            return got
        time.sleep(0.02)
    raise AssertionError(f"no cache entry appeared in {d} within {timeout} s")


def same_history(a: History, b: History) -> None:
    va, vb = vars(a), vars(b)
    assert va.keys() == vb.keys()
    for k in va:
        x, y = va[k], vb[k]
        if k in ("series", "eval_series", "sys_series"):
            assert x.keys() == y.keys(), k
            for name in x:
                assert len(x[name]) == len(y[name]), (k, name)
                assert all(u == v or (math.isnan(u) and math.isnan(v)) for u, v in zip(x[name], y[name])), (k, name)
        else:
            assert x == y or repr(x) == repr(y), k


def read_twice(path: Path, monkeypatch) -> tuple[tuple[History, LoadedLog], tuple[History, LoadedLog]]:
    """The log read once from the file, and once more with reading the file forbidden."""
    first = load_history(path)
    wait_for_entry(Path(os.environ["COCKPIT_CACHE_DIR"]))

    def no_parse(self):
        raise AssertionError("the log was parsed again")

    with monkeypatch.context() as m:
        m.setattr(LoadedLog, "read", no_parse)
        second = load_history(path)
    return first, second


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_a_second_read_comes_from_the_cache_and_gives_the_same(log, tmp_path, cache_dir, monkeypatch):
    copy = tmp_path / log.name  # the fixture itself stays untouched
    if log.is_dir():
        shutil.copytree(log, copy)
    else:
        copy.write_bytes(log.read_bytes())
    (h1, log1), (h2, log2) = read_twice(copy, monkeypatch)
    same_history(h1, h2)
    assert len(h2) == len(h1) > 0
    assert vars(log1.stats) == vars(log2.stats)
    assert log1.order == log2.order
    assert log1.facts() == log2.facts()


def test_our_finished_run_is_kept_and_columns_without_numbers_come_back(tmp_path, cache_dir, monkeypatch):
    rd = tmp_path / "run"
    write_run(rd, 300, finished=True)
    (h1, _), (h2, _) = read_twice(rd, monkeypatch)
    same_history(h1, h2)
    assert all(math.isnan(x) for x in h2.series["kl"]) and len(h2.series["kl"]) == 300
    h2.extend([{"kind": "metrics", "step": 301, "loss": 0.5}])  # a History from the cache folds on
    assert h2.steps[-1] == 301 and len(h2.series["kl"]) == 301


def test_a_run_still_training_is_not_kept(tmp_path, cache_dir):
    rd = tmp_path / "run"
    write_run(rd, 300, finished=False)
    load_history(rd)
    time.sleep(0.5)
    assert entries(cache_dir) == []


def test_a_changed_log_is_read_again(tmp_path, cache_dir, monkeypatch):
    rd = tmp_path / "run"
    write_run(rd, 300, finished=True)
    load_history(rd)
    wait_for_entry(cache_dir)
    with open(rd / "events.jsonl", "a") as f:  # grown: another size, another tail
        f.write(json.dumps({"v": 1, "t": 2e9, "kind": "note", "text": "added later"}) + "\n")
    h, _ = load_history(rd)
    assert h.other[-1]["text"] == "added later"
    # The same size and time, one byte changed in the last 64 KB: still another entry.
    data = bytearray((rd / "events.jsonl").read_bytes())
    st = os.stat(rd / "events.jsonl")
    i = data.rindex(b"added later")
    data[i : i + 5] = b"ADDED"
    (rd / "events.jsonl").write_bytes(bytes(data))
    os.utime(rd / "events.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns))
    h, _ = load_history(rd)
    assert h.other[-1]["text"] == "ADDED later"


def test_a_folder_log_is_read_again_when_a_file_in_it_changes(tmp_path, cache_dir):
    tb = tmp_path / "tb"
    shutil.copytree(FIXTURES / "trackers" / "generated" / "tensorboard", tb)
    load_history(tb)
    wait_for_entry(cache_dir)
    assert cache.has(tb)
    (tb / "notes.txt").write_text("a file more")
    assert not cache.has(tb)


def test_a_sqlite_store_is_read_again_when_its_write_ahead_log_grows(tmp_path, cache_dir):
    store = tmp_path / "mlflow"
    shutil.copytree(FIXTURES / "trackers" / "generated" / "mlflow", store)
    load_history(store)
    wait_for_entry(cache_dir)
    db = store / "mlflow.db"
    assert cache.has(db)
    (store / "mlflow.db-wal").write_bytes(b"\0" * 4096)  # MLflow's newest rows, not yet in the .db
    assert not cache.has(db)


def test_other_reading_code_does_not_trust_an_entry(tmp_path, cache_dir, monkeypatch):
    rd = tmp_path / "run"
    write_run(rd, 200, finished=True)
    load_history(rd)
    wait_for_entry(cache_dir)
    monkeypatch.setattr(cache, "_code", "another version of the readers")
    assert cache.load(rd / "events.jsonl") is None


def test_a_torn_entry_is_a_miss_and_is_removed(tmp_path, cache_dir):
    rd = tmp_path / "run"
    write_run(rd, 200, finished=True)
    h1, _ = load_history(rd)
    (entry,) = wait_for_entry(cache_dir)
    time.sleep(0.2)  # the writer has renamed it in place: done
    entry.write_bytes(entry.read_bytes()[:100])
    assert cache.load(rd / "events.jsonl") is None
    assert not entry.exists()
    h2, _ = load_history(rd)
    same_history(h1, h2)


def test_a_folder_others_can_write_is_neither_read_nor_written(tmp_path, cache_dir):
    cache_dir.mkdir(mode=0o755)
    os.chmod(cache_dir, 0o755)
    rd = tmp_path / "run"
    write_run(rd, 200, finished=True)
    load_history(rd)
    time.sleep(0.5)
    assert entries(cache_dir) == []
    # An entry planted there is not loaded (a pickle from someone else would run their code).
    os.chmod(cache_dir, 0o700)
    load_history(rd)
    (entry,) = wait_for_entry(cache_dir)
    os.chmod(cache_dir, 0o755)
    assert cache.load(rd / "events.jsonl") is None
    assert entry.exists()


def test_the_cache_can_be_turned_off(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("COCKPIT_NO_CACHE", "1")
    rd = tmp_path / "run"
    write_run(rd, 200, finished=True)
    load_history(rd)
    time.sleep(0.5)
    assert not cache_dir.exists()


def test_the_oldest_entries_go_first_past_the_limit(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    for i, name in enumerate(("old", "mid", "new")):
        p = d / f"{name}.pickle"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (1000 + i, 1000 + i))
    cache.prune(d, limit=2000)
    assert [p.stem for p in entries(d)] == ["mid", "new"]


def test_a_cached_log_is_not_read_by_a_child(tmp_path, cache_dir):
    rd = tmp_path / "run"
    write_run(rd, 300, finished=True)
    h1, _ = load_history(rd)
    wait_for_entry(cache_dir)
    pre = Preload(rd, share=1.0)
    assert pre.cached and pre.slow and not pre.forked
    h2, log = pre.result()
    same_history(h1, h2)
    assert log.run_dir is not None and log.run_dir.path == rd


def test_diagnose_of_a_long_log_is_the_same_from_the_cache(tmp_path):
    """The whole command, as a user runs it twice, on a log over the cache's threshold."""
    from bench.gen_log import write

    rd = tmp_path / "long"
    write(60_000, rd)
    assert (rd / "events.jsonl").stat().st_size >= cache.MIN_BYTES
    env = {**os.environ, "COCKPIT_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "cockpit.cli", "diagnose", "--json", str(rd)]
    cold = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    wait_for_entry(tmp_path / "cache")
    warm = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert cold.returncode == warm.returncode
    assert json.loads(cold.stdout) == json.loads(warm.stdout)
    assert json.loads(warm.stdout)["steps"] == 60_000


def write_run(rd: Path, n: int, finished: bool) -> None:
    """A run directory of n logged steps (a ledger line every 50), ended or still going."""
    rd.mkdir(parents=True)
    lines = [{"v": 1, "t": 1.79e9, "kind": "run_started", "config": {}, "total_steps": n}]
    for s in range(1, n + 1):
        lines.append(
            {
                "v": 1,
                "t": 1.79e9 + s,
                "kind": "metrics",
                "step": s,
                "loss": 2.0 / s**0.3,
                "grad_norm": 1.0,
                "learning_rate": 1e-4,
                "mem_kind": "vram",
            }
        )
        if s % 50 == 0:
            lines.append({"v": 1, "t": 1.79e9 + s, "kind": "checkpoint", "step": s, "path": f"checkpoint-{s}"})
    if finished:
        lines.append({"v": 1, "t": 1.79e9 + n + 1, "kind": "state", "state": "finished", "step": n})
    (rd / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_a_folder_holding_a_cached_store_is_not_read_by_a_child(tmp_path, cache_dir):
    """trackio's folder resolves to the .db inside it: the entry is the .db's, and the preload finds it."""
    store = tmp_path / "trackio"
    shutil.copytree(FIXTURES / "trackers" / "generated" / "trackio", store)
    h1, _ = load_history(store)
    wait_for_entry(cache_dir)
    pre = Preload(store, share=1.0)
    assert pre.cached and not pre.forked
    h2, _ = pre.result()
    same_history(h1, h2)


def test_with_other_threads_running_the_entry_is_what_the_history_was_then(tmp_path, cache_dir):
    """The cockpit's workers run beside a read: the writer is a thread then, and a History folded on
    after the read (a live source) must not reach the entry half-changed."""
    import threading

    rd = tmp_path / "run"
    write_run(rd, 300, finished=True)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        h, _ = load_history(rd)
        h.extend([{"kind": "metrics", "step": s, "loss": 1.0} for s in range(301, 401)])
        wait_for_entry(cache_dir)
    finally:
        stop.set()
        worker.join()
    time.sleep(0.3)
    got = cache.load(rd / "events.jsonl")
    assert got is not None and len(got[0]) == 300


def test_a_writer_killed_mid_write_leaves_nothing_for_long(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    left = d / ".abc.123.tmp"
    left.write_bytes(b"half")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    fresh = d / ".def.456.tmp"
    fresh.write_bytes(b"being written")
    cache.prune(d)
    assert not left.exists() and fresh.exists()
