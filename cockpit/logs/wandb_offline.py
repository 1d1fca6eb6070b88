"""A W&B run kept on disk (`wandb/offline-run-*/` or `wandb/run-*/`, its `run-<id>.wandb` file), read with
W&B's own record reader and protocol messages (the `wandb` extra). The history rows the Trainer logged
become our events; `train/global_step` is the step (W&B's own `_step` counts log calls)."""

from __future__ import annotations

import importlib.util
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.foreign import run_started
from cockpit.logs.jsonline import loads_line
from cockpit.logs.optional import need
from cockpit.logs.tracker_rows import STEP_KEYS, finished_event, hf_key, row_events, training_config
from cockpit.rundir import ReadStats, step_ok

NAME = "wandb"
TITLE = "W&B run kept offline (wandb/offline-run-*/ or run-*/, its .wandb file)"

MAGIC = b":W&B"
"""The first bytes of every .wandb file (W&B's record log header)."""


def sniff(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return bool(run_files(path))
    return head.startswith(MAGIC)


def run_files(folder: Path) -> list[Path]:
    """The .wandb files of the runs in FOLDER: a run folder's own, or those of the run folders of a
    `wandb/` folder, FOLDER's or FOLDER itself (`latest-run` links to one of them: not counted twice)."""
    own = [f for f in folder.glob("*.wandb") if _is_wandb(f)]
    if own:
        return own
    if (folder / "wandb").is_dir():  # the project folder the script ran in
        folder = folder / "wandb"
    runs = [d for d in sorted(folder.glob("*run-*")) if d.is_dir() and not d.is_symlink() and d.name != "latest-run"]
    return [f for d in runs for f in d.glob("*.wandb") if _is_wandb(f)]


def _is_wandb(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _the_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    files = run_files(path)
    if not files:
        raise LogError(f"{path}: holds no W&B run (.wandb file)")
    if len(files) > 1:
        names = ", ".join(f.parent.name for f in files[:10])
        raise LogError(f"{path}: holds {len(files)} W&B runs ({names}); give one of them")
    return files[0]


def records(path: Path, stats: ReadStats) -> Iterator[Any]:
    """The run's records as W&B's protocol messages (`wandb_internal_pb2.Record`), in the order written.
    W&B keeps them in LevelDB's log layout (32 KiB blocks of checksummed chunks); since W&B 0.19 its own
    reader of that layout lives in its Go core, so the layout is read here and each record decoded with
    W&B's message classes. A chunk whose checksum fails is counted and left out."""
    pb = _messages()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LogError(f"{path}: cannot read ({e})") from None
    if len(raw) < _FILE_HEADER.size or raw[:4] != MAGIC:
        raise LogError(f"{path}: not a W&B run file (it does not start with {MAGIC!r})")
    for data in _chunks(raw, stats):
        stats.lines += 1
        rec = pb.Record()
        try:
            rec.ParseFromString(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError
            stats.note_bad(stats.lines)
            continue
        yield rec


_FILE_HEADER = struct.Struct("<4sHB")  # ":W&B", magic 0xBEE1, version
_CHUNK_HEADER = struct.Struct("<IHB")  # crc32 of type + data, data length, type
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (_FULL, _FIRST, _MIDDLE, _LAST)}


def _chunks(raw: bytes, stats: ReadStats) -> Iterator[bytes]:
    """The records of a LevelDB-layout log: whole chunks, and first/middle/last chunks joined."""
    pos, size, parts = _FILE_HEADER.size, len(raw), []
    while pos + _CHUNK_HEADER.size <= size:
        left = _BLOCK - pos % _BLOCK
        if left < _CHUNK_HEADER.size:  # a block's tail too short for a header is padding
            pos += left
            continue
        crc, n, kind = _CHUNK_HEADER.unpack_from(raw, pos)
        if crc == 0 and n == 0 and kind == 0:  # zero fill up to the end of the block
            pos += left
            continue
        data = raw[pos + _CHUNK_HEADER.size : pos + _CHUNK_HEADER.size + n]
        pos += _CHUNK_HEADER.size + n
        if len(data) < n:  # the writer was cut off mid-record: what came before stands
            stats.torn_tail = True
            break
        if kind not in _TYPE_CRC or zlib.crc32(data, _TYPE_CRC[kind]) != crc:
            stats.note_bad(stats.lines + 1)
            parts = []
            continue
        if kind == _FULL:
            yield data
        elif kind == _FIRST:
            parts = [data]
        elif kind == _MIDDLE and parts:
            parts.append(data)
        elif kind == _LAST and parts:
            parts.append(data)
            yield b"".join(parts)
            parts = []


def _messages() -> ModuleType:
    """W&B's `wandb_internal_pb2` (the `wandb` extra), without running `wandb/__init__`: that imports
    all of W&B (pydantic, sentry, its service: 2-8 s here), while the generated message classes need only
    protobuf. When W&B itself is not imported yet, its package and `wandb.proto` stand in as bare
    packages on their own folders while the messages load, and are taken out again after."""
    if "wandb" in sys.modules:
        return need("wandb.proto.wandb_internal_pb2", "wandb", "W&B runs")
    try:
        spec = importlib.util.find_spec("wandb")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return need("wandb.proto.wandb_internal_pb2", "wandb", "W&B runs")  # refuses with the install line
    root = Path(next(iter(spec.submodule_search_locations)))
    stand_ins = {"wandb": root, "wandb.proto": root / "proto"}
    for name, folder in stand_ins.items():
        pkg = ModuleType(name)
        pkg.__path__ = [str(folder)]
        sys.modules[name] = pkg
    try:
        return need("wandb.proto.wandb_internal_pb2", "wandb", "W&B runs")
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)


def _items(items, stats: ReadStats) -> dict[str, Any]:
    out = {}
    for item in items:
        key = "/".join(item.nested_key) if item.nested_key else item.key
        try:
            out[key] = loads_line(item.value_json)
        except ValueError:
            stats.note_bad(stats.lines)
    return out


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    path = _the_file(path)
    config: dict[str, Any] = {}
    started = False
    last, total = 0, None
    kinds: set[str] = set()
    for rec in records(path, stats):
        kind = rec.WhichOneof("record_type")
        kinds.add(kind or "?")
        if kind == "run":
            config.update(_items(rec.run.config.update, stats))
        elif kind == "config":
            config.update(_items(rec.config.update, stats))
        elif kind == "history":
            if not started:
                started = True
                training = training_config(config)
                total = training.get("training", {}).get("max_steps")
                yield run_started(NAME, total, config=training)
            row = _items(rec.history.item, stats)
            step = next((row[k] for k in STEP_KEYS if k in row), row.get("_step"))
            if step is None or not step_ok(step):  # (step_ok lets an absent one by)
                stats.note_bad(stats.lines)
                continue
            step = int(step)
            last = max(last, step)
            yield from row_events(step, {hf_key(k): v for k, v in row.items()}, row.get("_timestamp"))
    if not started:
        said = ", ".join(sorted(kinds)) or "none"
        raise LogError(f"{path}: the W&B run holds {stats.lines} records but no logged history (records: {said})")
    done = finished_event(last, total)
    if done:
        yield done
