"""`python -m cockpit.trainer RUN_DIR [--resume]`: the background trainer (see cockpit.trainer.main)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cockpit.trainer")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    a = p.parse_args(argv)
    from cockpit.trainer.output_guard import guard_output

    guard_output()  # trainer.log on a full disk must not kill the run
    if "LOCAL_RANK" not in os.environ:
        from cockpit.config import ConfigError, load_config

        try:
            cfg = load_config(a.run_dir / "config.yaml", check_paths=False)
        except ConfigError as e:
            print(f"[cockpit] {e}", file=sys.stderr)
            return 2
        if cfg.launch.num_processes > 1 or cfg.launch.nnodes > 1:
            from cockpit.trainer.supervisor import supervise

            return supervise(a.run_dir, cfg, resume=a.resume)
    from cockpit.trainer.main import run

    return run(a.run_dir, resume=a.resume)


if __name__ == "__main__":
    sys.exit(main())
