"""`cockpit run`'s check before it starts the trainer, and the `cockpit estimate` command's body.

The run check reads shapes from config.json only (no torch: ~50 ms); a model it cannot read that way
is not checked (one line says so, and `cockpit estimate` builds it on the meta device).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from cockpit.config import RunConfig
from cockpit.estimate import device as devices
from cockpit.estimate.fit import shape_for, smallest_change
from cockpit.estimate.parts import FITS, TOO_BIG, Estimate, estimate
from cockpit.estimate.render import as_json, size, text
from cockpit.estimate.shapes import ShapeError, checkpoint_bytes, from_config_json


@dataclass
class Verdict:
    refuse: bool
    message: str  # empty when there is nothing to say


def pre_run(cfg: RunConfig, *, force: bool = False) -> Verdict:
    from cockpit.estimate.fit import resolve_model_dir

    d = resolve_model_dir(cfg, build_demo=False)
    if d is None:
        return Verdict(False, "")  # nothing local to read (an unbuilt demo model, an uncached hub id)
    try:
        shape = from_config_json(d)
        shape.checkpoint_bytes = checkpoint_bytes(d)
        dev = devices.detect()
    except (ShapeError, devices.DeviceError) as e:
        return Verdict(False, f"memory check skipped: {e} (cockpit estimate CONFIG builds it exactly)")
    est = estimate(cfg, shape, dev)
    if est.verdict == FITS:
        return Verdict(False, "")
    change = smallest_change(cfg, shape, dev)
    body = text(est, change, cfg.model.name_or_path)
    if est.verdict == TOO_BIG:
        if force:
            return Verdict(True, f"{body}\n--force: starting anyway")
        return Verdict(True, f"{body}\nrefusing to start: the run would not fit (--force starts it anyway)")
    return Verdict(False, f"warning: {_one_line(est)}; {change.flags if change else 'see cockpit estimate'}")


def _one_line(est: Estimate) -> str:
    return f"memory estimate {size(est.total)} is {est.ratio:.0%} of {size(est.device.capacity)} on {est.device.name}"


def main(cfg: RunConfig, *, as_json_out: bool, fast: bool, measure: bool) -> int:
    """Exit 0 fits, 1 tight, 2 does not fit (3 when the model cannot be read)."""
    try:
        dev = devices.detect()
        if measure:
            dev.overhead, dev.overhead_source = devices.measure(dev.kind)
        shape = shape_for(cfg, exact=not fast, build_demo=False)
    except (ShapeError, devices.DeviceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    est = estimate(cfg, shape, dev)
    change = None if est.verdict == FITS else smallest_change(cfg, shape, dev)
    if as_json_out:
        print(json.dumps(as_json(est, change, cfg.model.name_or_path), indent=2))
    else:
        print(text(est, change, cfg.model.name_or_path))
    return {FITS: 0, TOO_BIG: 2}.get(est.verdict, 1)
