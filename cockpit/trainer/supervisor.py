"""Multi-process runs: start the ranks through torchrun or accelerate, and stand behind them.

The supervisor holds the run's lock and is the pid the cockpit watches. When the launcher exits
without a final state (a rank died: OOM killer, NCCL error, segfault), it writes `crashed` naming the
rank and the reason torchrun reported, so the cockpit never shows a dead run as running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from cockpit.config import RunConfig
from cockpit.rundir import FINAL_STATES, EventWriter, LockHeld, RunDir, acquire_lock, last_event, release_lock


def launcher_argv(cfg: RunConfig, run_dir: Path, resume: bool, error_dir: Path) -> list[str]:
    L = cfg.launch
    tail = ["-m", "cockpit.trainer", str(run_dir)] + (["--resume"] if resume else [])
    if L.backend == "accelerate":
        argv = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--num_processes",
            str(L.num_processes * L.nnodes),
            "--num_machines",
            str(L.nnodes),
            "--machine_rank",
            str(L.node_rank),
        ]
        if L.accelerate_config:
            argv += ["--config_file", L.accelerate_config]
        if L.rdzv_endpoint:
            host, _, port = L.rdzv_endpoint.partition(":")
            argv += ["--main_process_ip", host, "--main_process_port", port or "29500"]
        return argv + tail
    argv = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(L.num_processes),
        "--nnodes",
        str(L.nnodes),
    ]
    if L.nnodes > 1:
        argv += ["--node_rank", str(L.node_rank), "--rdzv_backend", "c10d", "--rdzv_endpoint", L.rdzv_endpoint or ""]
    else:
        argv += ["--standalone"]
    return argv + tail


def supervise(run_dir: Path, cfg: RunConfig, resume: bool = False) -> int:
    rd = RunDir(run_dir)
    try:
        note = acquire_lock(rd)
    except LockHeld as e:
        print(f"[cockpit] cannot start: {e}", file=sys.stderr)
        return 2
    if note:
        print(f"[cockpit] {note}", file=sys.stderr, flush=True)
    err_dir = Path(tempfile.mkdtemp(prefix="cockpit-ranks-"))
    env = {
        **os.environ,
        "COCKPIT_SUPERVISED": "1",
        "COCKPIT_SUPERVISOR_PID": str(os.getpid()),
        "TORCHELASTIC_ERROR_FILE": str(err_dir / "error.json"),
    }
    proc = subprocess.Popen(launcher_argv(cfg, run_dir, resume, err_dir), env=env)

    def forward(signum, frame):  # noqa: ARG001 - SIGTERM to the supervisor stops every rank cleanly
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        rc = proc.wait()
        if _final_state(rd) is None:
            why = _rank_failure(err_dir) or _failure_from_log(rd) or f"launcher exited with code {rc}"
            with EventWriter(rd.events) as ev:
                ev.write("error", message=why, traceback=None, step=_last_step(rd))
                ev.write("state", state="crashed", step=_last_step(rd), reason=why)
        return rc
    finally:
        release_lock(rd)


def _final_state(rd: RunDir) -> str | None:
    ev = last_event(rd.events, "state")
    return ev.get("state") if ev and ev.get("state") in FINAL_STATES else None


def _last_step(rd: RunDir) -> int:
    ev = last_event(rd.events, "metrics")
    return int(ev.get("step", 0)) if ev else 0


def _failure_from_log(rd: RunDir) -> str | None:
    """torchrun prints `failed (exitcode: -9) local_rank: 1 (pid: N)` when a rank dies."""
    import re

    from cockpit.rundir import tail_text

    for line in reversed(tail_text(rd.log, 200)):
        m = re.search(r"failed \(exitcode: (-?\d+)\) local_rank: (\d+)", line)
        if m:
            code = int(m.group(1))
            sig = f" (killed by signal {-code}{', the OOM killer sends 9' if code == -9 else ''})" if code < 0 else ""
            return f"rank {m.group(2)} died with exit code {code}{sig}"
    return None


def _rank_failure(err_dir: Path) -> str | None:
    """torchrun's error file names the failing rank and its exception."""
    for f in sorted(err_dir.glob("*.json")):
        try:
            data = json.loads(f.read_text())
            msg = data.get("message", {})
            if isinstance(msg, dict):
                text = msg.get("message", "")
                rank = msg.get("extraInfo", {}).get("rank") if isinstance(msg.get("extraInfo"), dict) else None
                return f"rank {rank} failed: {text}" if rank is not None else text
            return str(msg)
        except (OSError, ValueError):
            continue
    return None
