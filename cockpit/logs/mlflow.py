"""MLflow's local store: a SQLite tracking database (`mlflow.db`) or the older file layout (`mlruns/<experiment>/
<run>/metrics/<key>`, lines of `timestamp value step`). Read with the standard library, no MLflow: its
Trainer callback logs the Trainer's own names (`loss`, `eval_loss`), one value per key and step."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cockpit.logs import sqlite_store
from cockpit.logs.errors import LogError
from cockpit.logs.foreign import run_started
from cockpit.logs.tracker_rows import finished_event, row_events, training_config
from cockpit.rundir import ReadStats, step_ok

NAME = "mlflow"
TITLE = "MLflow local store (mlflow.db or the folder holding it, an mlruns/ folder or one run's folder in it)"


def find(directory: Path) -> Path | None:
    """The folder's `mlflow.db` (MLflow's SQLite store, where `mlflow ui` was started), if it has one."""
    db = directory / "mlflow.db"
    return db if db.is_file() else None


def sniff(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return bool(_file_runs(path))
    return {"runs", "metrics", "experiments"} <= sqlite_store.tables(path, head)


# ---- the file layout ---------------------------------------------------------------------------


def _is_run(d: Path) -> bool:
    return (d / "meta.yaml").is_file() and (d / "metrics").is_dir()


def _file_runs(folder: Path) -> list[Path]:
    """The run folders PATH is or holds: a run, an experiment's folder, or `mlruns/`."""
    if _is_run(folder):
        return [folder]
    for pattern in ("*", "*/*"):
        runs = [d for d in folder.glob(pattern) if d.is_dir() and _is_run(d)]
        if runs:
            return sorted(runs, key=_start_time)
    return []


def _meta(run: Path) -> dict[str, str]:
    """meta.yaml's top-level `key: value` lines (the readers keep clear of a YAML parser)."""
    out = {}
    try:
        text = (run / "meta.yaml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if line[:1].isalpha() and ":" in line:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip().strip("'\"")
    return out


def _start_time(run: Path) -> int:
    try:
        return int(_meta(run).get("start_time", 0))
    except ValueError:
        return 0


def _file_params(run: Path) -> dict[str, str]:
    out = {}
    for f in (run / "params").glob("*") if (run / "params").is_dir() else ():
        try:
            out[f.name] = f.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
    return out


def _file_points(run: Path, stats: ReadStats) -> Iterator[tuple[int, int, str, float]]:
    """(step, timestamp ms, key, value) of each metric file's lines; nested keys (`a/b`) are subfolders."""
    root = run / "metrics"
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f.relative_to(root).as_posix()
        try:
            lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise LogError(f"{f}: cannot read ({e})") from None
        for line in lines:
            stats.lines += 1
            parts = line.split()
            try:
                stamp, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except (IndexError, ValueError):
                stats.note_bad(stats.lines)
                continue
            yield step, stamp, key, value


# ---- the SQLite store --------------------------------------------------------------------------


def _db_rows(path: Path, stats: ReadStats) -> tuple[dict[str, Any], Iterator[tuple[Any, int, dict[str, Any]]]]:
    db = sqlite_store.connect(path)
    runs = db.execute(
        "SELECT run_uuid, coalesce(name, run_uuid) FROM runs WHERE lifecycle_stage != 'deleted' ORDER BY start_time"
    ).fetchall()
    run, note = sqlite_store.chosen(path, runs, "MLflow")
    if note:
        stats.notes.append(note)
    params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run,)).fetchall())
    keys = [k for (k,) in db.execute("SELECT DISTINCT key FROM metrics WHERE run_uuid = ?", (run,))]
    # One row a step, its keys as columns, grouped by SQLite (the file store groups its points in Python).
    # Measured against a Python loop over the points: 4.2 s against 4.4 s for 50,000 steps; what costs is
    # making the events, not reading the rows.
    value = "CASE WHEN is_nan THEN 'NaN' ELSE value END"
    columns = "".join(f", max(CASE WHEN key = ? THEN {value} END)" for _ in keys)
    sql = f"SELECT step, min(timestamp){columns} FROM metrics WHERE run_uuid = ? GROUP BY step ORDER BY step"

    def rows() -> Iterator[tuple[Any, int, dict[str, Any]]]:
        try:
            for step, stamp, *values in db.execute(sql, (*keys, run)):
                stats.lines += 1
                yield step, stamp, {k: float(v) for k, v in zip(keys, values) if v is not None}
        finally:
            db.close()

    return {"params": params, "name": dict(runs)[run]}, rows()


def _grouped(points: Iterable[tuple[int, int, str, float]]) -> Iterator[tuple[Any, int, dict[str, Any]]]:
    """Points sorted by step as one row a step: (step, first timestamp, {key: value})."""
    row: dict[str, Any] = {}
    step = stamp = None
    for s, ms, key, value in points:
        if s != step:
            if row:
                yield step, stamp, row
            row, step, stamp = {}, s, ms
        row[key] = value
    if row:
        yield step, stamp, row


# ---- both --------------------------------------------------------------------------------------


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    if path.is_dir():
        runs = _file_runs(path)
        if not runs:
            raise LogError(f"{path}: holds no MLflow run (a folder with meta.yaml and metrics/)")
        run = runs[-1]
        if len(runs) > 1:
            stats.notes.append(f"{len(runs)} runs in this folder; read the latest, {run.name}")
        params, name = _file_params(run), _meta(run).get("run_name") or run.name
        rows = _grouped(sorted(_file_points(run, stats)))
    else:
        found, rows = _db_rows(path, stats)
        params, name = found["params"], found["name"]
    training = training_config(params)
    total = training.get("training", {}).get("max_steps")
    yield run_started(NAME, total, config=training, run_name=name)
    last = 0
    for step, stamp, row in rows:
        if step is None or not step_ok(step):  # (step_ok lets an absent one by)
            stats.note_bad(stats.lines)
            continue
        last = max(last, step)
        yield from row_events(step, row, stamp / 1000)
    if stats.lines == 0:
        raise LogError(f"{path}: MLflow run '{name}' logged no metrics")
    done = finished_event(last, total)
    if done:
        yield done
