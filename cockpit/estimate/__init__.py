"""How much memory a run will need, before it starts: `cockpit estimate` and `cockpit run`'s check.

shapes.py reads the model's module shapes (from config.json for Llama-shaped models, in milliseconds;
or by building the model on the meta device, exact for any architecture, seconds). parts.py turns
shapes and the run config into bytes per part. device.py says what the device holds and what the
framework itself costs there. fit.py compares and finds the smallest change that fits; render.py
prints. Only shapes.from_meta imports torch/transformers, and only when called.
"""

from __future__ import annotations

from cockpit.estimate.parts import Estimate, estimate

__all__ = ["Estimate", "estimate"]
