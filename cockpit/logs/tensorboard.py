"""TensorBoard event files (`events.out.tfevents.*`): a folder holding them is one run, read with
TensorBoard's own event reader (the `tensorboard` extra). Every scalar point is read: the raw event loader
is used, not TensorBoard's EventAccumulator, which keeps a sample of 10,000 points a tag by default."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.logs.errors import LogError
from cockpit.logs.foreign import run_started
from cockpit.logs.jsonline import loads_line
from cockpit.logs.optional import need
from cockpit.logs.tracker_rows import finished_event, hf_key, row_events, training_config
from cockpit.rundir import ReadStats, step_ok

NAME = "tensorboard"
TITLE = "TensorBoard event files (a folder holding events.out.tfevents.*)"

PATTERN = "*tfevents*"
_MAX_DEPTH = 4
"""How deep under the folder given event files are looked for (`output_dir/runs/<stamp>/` is two)."""


def sniff(path: Path, head: bytes) -> bool:
    """An event file: a TFRecord whose first record is the `file_version: "brain.Event:N"` event that
    every writer puts first. A folder: one holding such files."""
    if path.is_dir():
        return bool(run_folders(path))
    return _is_event_file(head)


def _is_event_file(head: bytes) -> bool:
    if len(head) < 12:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 0 < n < 4096 and b"brain.Event:" in head[12 : 12 + n]


def run_folders(folder: Path) -> list[Path]:
    """The folders under FOLDER (itself included) that hold event files, each one run."""
    found: set[Path] = set()
    for depth in range(_MAX_DEPTH + 1):
        for f in folder.glob("/".join(["*"] * depth + [PATTERN])):
            if f.is_file() and _is_event_file(_head(f)):
                found.add(f.parent)
    return sorted(found)


def _head(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(256)
    except OSError:
        return b""


def event_files(path: Path) -> list[Path]:
    """The event files of the one run PATH is: the file itself, or the files of the one folder holding
    them (in name order, which is their start time); a folder holding several runs is refused, naming them."""
    if not path.is_dir():
        return [path]
    runs = run_folders(path)
    if not runs:
        raise LogError(f"{path}: holds no TensorBoard event files ({PATTERN})")
    if len(runs) > 1:
        names = ", ".join(str(r.relative_to(path)) or "." for r in runs[:10])
        raise LogError(f"{path}: holds {len(runs)} TensorBoard runs ({names}); give one of them")
    return sorted(f for f in runs[0].glob(PATTERN) if f.is_file() and _is_event_file(_head(f)))


def scalars(
    files: list[Path], stats: ReadStats, other_tags: set[str], args: dict[str, Any]
) -> Iterator[tuple[int, float, str, float]]:
    """(step, wall time, tag, value) of every scalar in the files, in the order written; the tags of
    what is not a scalar (text, histograms, images, hparams) go into OTHER_TAGS, and the Trainer's
    arguments (the JSON text it writes as `args/text_summary`) into ARGS."""
    loader_mod = need("tensorboard.backend.event_processing.event_file_loader", "tensorboard", "TensorBoard logs")
    tensor_util = need("tensorboard.util.tensor_util", "tensorboard", "TensorBoard logs")
    for f in files:
        try:
            for event in loader_mod.LegacyEventFileLoader(str(f)).Load():
                stats.lines += 1
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    if kind == "simple_value":
                        x = value.simple_value
                    elif kind == "tensor" and value.metadata.plugin_data.plugin_name == "scalars":
                        x = float(tensor_util.make_ndarray(value.tensor))
                    else:
                        other_tags.add(value.tag)
                        if value.tag == "args/text_summary" and kind == "tensor":
                            args.update(_json_text(tensor_util.make_ndarray(value.tensor)))
                        continue
                    yield event.step, event.wall_time, value.tag, x
        except OSError as e:
            raise LogError(f"{f}: cannot read ({e})") from None


def events(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    files = event_files(path)
    other_tags: set[str] = set()
    args: dict[str, Any] = {}
    row: dict[str, Any] = {}
    step = t = None
    points = 0
    for s, wall, tag, x in scalars(files, stats, other_tags, args):
        if not points:  # the Trainer writes its arguments before the first scalar
            training = training_config(args)
            total = training.get("training", {}).get("max_steps")
            yield run_started(NAME, total, config=training, files=[f.name for f in files])
        points += 1
        if s != step:
            if row:
                yield from row_events(step, row, t)
            row, step, t = {}, s, wall
        if step_ok(s):
            row[hf_key(tag)] = x
        else:
            stats.note_bad(stats.lines)
    if row:
        yield from row_events(step, row, t)
    done = finished_event(step, total) if points else None
    if done:
        yield done
    if not points:
        said = f"only {', '.join(sorted(other_tags)[:5])}" if other_tags else "no summaries at all"
        raise LogError(f"{path}: the TensorBoard log holds {stats.lines} events but no scalar ({said})")


def _json_text(text: Any) -> dict[str, Any]:
    """The Trainer's arguments from its text summary (a one-element array of JSON bytes), or {}."""
    try:
        doc = loads_line(bytes(text.flat[0]))
    except (ValueError, TypeError, IndexError):
        return {}
    return doc if isinstance(doc, dict) else {}
