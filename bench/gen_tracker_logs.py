"""Write an N-step log of a tracker's format, shaped as a Trainer's (loss, grad_norm, learning_rate, epoch
each step, an evaluation every 500): `python bench/gen_tracker_logs.py FORMAT N OUT`.

The files are written as each tracker lays them out, starting from the real ones in
tests/fixtures/trackers/generated (the SQLite stores keep their tables; rows are added in bulk, as the
trackers' own one-call-per-log writers would take minutes for a million steps)."""

from __future__ import annotations

import csv
import json
import math
import shutil
import sqlite3
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT / "tests" / "fixtures" / "trackers" / "generated"
EVAL_EVERY = 500


def rows(n: int):
    """(step, {trainer key: value}) as the Trainer logs them: training each step, an evaluation every 500."""
    for s in range(1, n + 1):
        loss = 2.0 * math.exp(-s / (n / 4)) + 0.3 + 0.05 * math.sin(s / 7)
        yield (
            s,
            {
                "loss": loss,
                "grad_norm": 1.0 + 0.3 * math.sin(s / 13),
                "learning_rate": 2e-4 * (1 - s / (n + 1)),
                "epoch": s / 1000,
            },
        )
        if s % EVAL_EVERY == 0:
            yield s, {"eval_loss": loss + 0.05, "eval_runtime": 1.5, "epoch": s / 1000}


def tracker_names(entry: dict) -> dict:
    """The Trainer's keys as the W&B / trackio / TensorBoard callbacks rewrite them."""
    return {("eval/" + k[5:] if k.startswith("eval_") else "train/" + k): v for k, v in entry.items()}


def trackio(n: int, out: Path) -> Path:
    db = out / "bench.db"
    shutil.copy(GEN / "trackio" / "cockpit-fixture.db", db)
    con = sqlite3.connect(db)
    run_id, run = con.execute("SELECT run_id, run_name FROM metrics LIMIT 1").fetchone()
    con.execute("DELETE FROM metrics")
    con.executemany(
        "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) VALUES (?, ?, ?, ?, ?)",
        (
            (run_id, "2026-12-07T03:14:43.000000", run, s, json.dumps({**tracker_names(e), "train/global_step": s}))
            for s, e in rows(n)
        ),
    )
    con.commit()
    con.execute("VACUUM")
    con.close()
    return db


def mlflow(n: int, out: Path) -> Path:
    db = out / "mlflow.db"
    shutil.copy(GEN / "mlflow" / "mlflow.db", db)
    con = sqlite3.connect(db)
    (run,) = con.execute("SELECT run_uuid FROM runs LIMIT 1").fetchone()
    con.execute("DELETE FROM metrics")
    con.execute("DELETE FROM latest_metrics")
    t0 = 1_796_613_283_000
    con.executemany(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
        ((k, v, t0 + i, run, s) for i, (s, e) in enumerate(rows(n)) for k, v in e.items()),
    )
    con.commit()
    con.close()
    return db


def wandb_export(n: int, out: Path) -> Path:
    path = out / "history.csv"
    keys = ["train/loss", "train/grad_norm", "train/learning_rate", "train/epoch", "eval/loss", "eval/runtime"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "_step", *keys, "train/global_step"])
        for i, (s, e) in enumerate(rows(n)):
            named = tracker_names(e)
            w.writerow([i, i, *(named.get(k, "") for k in keys), s])
    return path


def wandb(n: int, out: Path) -> Path:
    """W&B's record log: LevelDB's layout of 32 KiB blocks, each record a `wandb_internal_pb2.Record`."""
    from cockpit.logs.wandb_offline import _messages

    pb = _messages()
    run = out / "offline-run-20261207_000000-bench0001"
    run.mkdir(parents=True)
    path = run / "run-bench0001.wandb"
    block = 32768
    with open(path, "wb") as f:
        f.write(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
        pos = 7

        def put(data: bytes) -> None:
            nonlocal pos
            first = True
            while True:
                left = block - pos % block
                if left < 7:
                    f.write(b"\0" * left)
                    pos += left
                    left = block
                chunk, data = data[: left - 7], data[left - 7 :]
                kind = (1 if not data else 2) if first else (4 if not data else 3)
                crc = zlib.crc32(chunk, zlib.crc32(bytes([kind])))
                f.write(struct.pack("<IHB", crc, len(chunk), kind) + chunk)
                pos += 7 + len(chunk)
                first = False
                if not data:
                    return

        for i, (s, e) in enumerate(rows(n)):
            rec = pb.Record()
            for k, v in {**tracker_names(e), "train/global_step": s, "_step": i, "_timestamp": 1.79e9 + s}.items():
                item = rec.history.item.add()
                item.key = k
                item.value_json = json.dumps(v)
            put(rec.SerializeToString())
    return run


def tensorboard(n: int, out: Path) -> Path:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder = out / "runs" / "bench"
    w = EventFileWriter(str(folder), max_queue_size=100_000, flush_secs=3600)
    for s, e in rows(n):
        for k, v in tracker_names(e).items():
            value = summary_pb2.Summary.Value(tag=k, simple_value=v)
            w.add_event(event_pb2.Event(step=s, wall_time=1.79e9 + s, summary=summary_pb2.Summary(value=[value])))
    w.close()
    return folder


WRITERS = {
    "tensorboard": tensorboard,
    "wandb": wandb,
    "wandb_export": wandb_export,
    "trackio": trackio,
    "mlflow": mlflow,
}


if __name__ == "__main__":
    fmt, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    print(WRITERS[fmt](n, out))
