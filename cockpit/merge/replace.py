"""What `--force` may replace: only an earlier merge's output, recognised by its own record.

A merge with `--force` renames the existing output aside and deletes it whole. That is safe only for a
folder this command wrote: one holding `merge.json` whose `files` list names every entry in it. Never the
run directory, a folder holding the run, the adapter or the base model, and never a folder where
anything else was put (an export, notes, another run).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cockpit.merge.source import MergeRefused, MergeSource

RECORD = "merge.json"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _protected(src: MergeSource) -> list[tuple[str, Path]]:
    """What the output may be neither, nor hold: the run, the adapter, the base model (when local)."""
    out = []
    if src.run_dir is not None:
        out.append(("the run directory", src.run_dir.path))
    out.append(("the adapter", src.adapter))
    if Path(src.base).exists():
        out.append(("the base model", Path(src.base)))
    return [(what, p.resolve()) for what, p in out]


def check_replaceable(src: MergeSource) -> None:
    """MergeRefused unless `src.out` is an earlier merge output that `--force` may delete."""
    out = src.out
    target = out.resolve()
    for what, path in _protected(src):
        if _inside(path, target):
            label = "is" if path == target else "holds"
            raise MergeRefused(
                f"--out {out} {label} {what} ({path}): --force replaces only an earlier merge output; "
                "give another --out",
                src.run_dir,
            )
    keep = "remove it yourself if it is not needed, or give another --out"
    st = os.lstat(out)
    if not stat.S_ISDIR(st.st_mode):
        raise MergeRefused(f"--out {out} is not a merged model folder (not a folder); {keep}", src.run_dir)
    try:
        record = json.loads((out / RECORD).read_text())
        files = set(record["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise MergeRefused(
            f"--out {out} is not the output of an earlier merge (no {RECORD} listing its files): "
            f"--force replaces only that; {keep}",
            src.run_dir,
        ) from None
    others = sorted(p.name for p in out.iterdir() if p.name not in files)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise MergeRefused(
            f"--out {out} holds files no merge wrote ({shown}): --force does not delete them; {keep}",
            src.run_dir,
        )
