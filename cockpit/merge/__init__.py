"""Merge an adapter into its base (W + BA), verify the result, write a deployable folder atomically.

    cockpit merge RUN_DIR|ADAPTER_DIR [--checkpoint N] [--out DIR] [--dtype bf16|fp16|fp32] [--device cpu|cuda]

Runs in its own process (the trainer spawns `python -m cockpit.merge` for the cockpit's `m` key), so
training continues meanwhile. Never leaves a half-written model: everything is written into a hidden
temporary folder next to the output and renamed into place only after every check passed. `--force`
replaces only an earlier merge output (cockpit.merge.replace), never the run or anything else.
Exit codes: 0 done, 1 verification failed, 2 refused (nothing written).
"""

from __future__ import annotations

import time
from pathlib import Path

from cockpit.merge.source import MergeRefused, resolve_source


def main(
    source: Path,
    *,
    checkpoint: int | None = None,
    out: str | None = None,
    dtype: str = "fp32",
    device: str = "cpu",
    force: bool = False,
) -> int:
    from cockpit.quiet import quiet_one_off_job

    quiet_one_off_job()
    from cockpit.merge.events import Reporter

    try:
        src = resolve_source(Path(source), checkpoint=checkpoint, out=out)
    except MergeRefused as e:
        Reporter(e.run_dir, None).failed(str(e), refused=True)  # said once; an event when there is a run
        return 2
    rep = Reporter(src.run_dir, src.step)
    from cockpit.merge.run import AlreadyMerged, VerificationFailed, merge

    t0 = time.time()
    try:
        result = merge(src, dtype=dtype, device=device, force=force, report=rep)
    except AlreadyMerged as e:  # after `cockpit export`, which merged first: a success, said as such
        print(f"merge: {e}")
        return 0
    except MergeRefused as e:
        rep.failed(str(e), refused=True)
        return 2
    except VerificationFailed as e:
        rep.failed(f"verification: {e}", checks=e.checks)
        return 1
    except Exception as e:  # noqa: BLE001 - any failure must end as a merge event, never a silent exit
        rep.failed(f"{type(e).__name__}: {e}")
        return 1
    rep.done(result, time.time() - t0)
    return 0
