"""Control latency in steps: a command written while the trainer is at step k is applied (acked) at k+1
at the latest. Real trainer, tiny demo model, 20 commands at random moments."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from cockpit.control import build_command
    from cockpit.rundir import RunDir, append_command, last_event

    tmp = Path(tempfile.mkdtemp())
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cockpit.cli",
            "demo",
            "--detach",
            "--runs-dir",
            str(tmp),
            "--set",
            "training.max_steps=100000",
            "--set",
            "samples.every=0",
            "--set",
            "training.save_steps=0",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    rd = RunDir(r.stdout.strip().splitlines()[-1])
    while not (last_event(rd.events, "metrics") or {}).get("step", 0) > 5:
        time.sleep(0.2)
    rng = random.Random(0)
    lat = []
    for _ in range(20):
        time.sleep(rng.uniform(0.05, 0.6))
        k = last_event(rd.events, "metrics")["step"]
        cmd = append_command(rd, build_command("lr", "x1.0"))
        while True:
            ack = last_event(rd.events, "ack")
            if ack and ack.get("id") == cmd["id"]:
                break
            time.sleep(0.01)
        lat.append(ack["step"] - k)
    append_command(rd, build_command("stop"))
    print("| commands | applied at step k+1 or sooner | max (steps after the last logged step) |")
    print("|---|---|---|")
    print(f"| {len(lat)} | {sum(1 for x in lat if x <= 1)} | {max(lat)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
