"""`python -m cockpit.merge RUN_DIR [--checkpoint N] [--dtype ..] [--out ..]`: what the trainer spawns."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cockpit.merge import main

if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m cockpit.merge")
    p.add_argument("source", type=Path)
    p.add_argument("--checkpoint", type=int)
    p.add_argument("--out")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--force", action="store_true")
    a = p.parse_args()
    sys.exit(main(a.source, checkpoint=a.checkpoint, out=a.out, dtype=a.dtype, device=a.device, force=a.force))
