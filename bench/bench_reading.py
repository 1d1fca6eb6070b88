"""Reading long logs: history fold, `diagnose`, `report`, and the replay cockpit's first frame, for
10k / 100k / 1M-step logs. Prints a Markdown table (median of --reps runs each).

`--formats`: the same sizes in every log format (ours, trainer_state.json, LLaMA-Factory, a console),
`diagnose` with its peak memory, and a trainer_state.json parsed whole beside it streamed."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen_log import write  # noqa: E402

USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The commands run as a user's would: with Python's bytecode cache (some sandboxes turn it off, which
makes every start compile the cockpit's sources again)."""


def timed(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT, env=env or USER_ENV)
    return time.perf_counter() - t0


def preload_ab(rd: Path, reps: int) -> list[tuple[str, float, float]]:
    """diagnose / report with the log read in a forked child (default) and in-process
    (COCKPIT_NO_PRELOAD=1), interleaved: (command, median with, median without)."""
    off = {**USER_ENV, "COCKPIT_NO_PRELOAD": "1"}
    out = []
    for cmd in ("diagnose", "report"):
        argv = [sys.executable, "-m", "cockpit.cli", cmd, str(rd)]
        on_t, off_t = [], []
        for _ in range(reps):
            on_t.append(timed(argv))
            off_t.append(timed(argv, off))
        out.append((cmd, statistics.median(on_t), statistics.median(off_t)))
    return out


def first_frame(path: Path) -> float:
    """Seconds from opening the log to the replay cockpit's first frame (in-process, headless)."""
    from cockpit.logs import resolve
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import ReplaySource

    async def go() -> float:
        t0 = time.perf_counter()
        log = resolve(path)
        app = CockpitApp(ReplaySource(log.history(), log.title), run_dir=None)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0)
            return time.perf_counter() - t0

    return asyncio.run(go())


def first_frame_process(
    path: Path, steps: int, timeout: float = 120, command: str = "replay", root: Path = ROOT
) -> tuple[float, float]:
    """Seconds from `cockpit replay PATH` (or `cockpit attach PATH`) typed in a terminal (tmux) to (the
    cockpit on screen, its first frame showing the whole log: the replay's cursor at the last step, the
    live run panel at the last step): what a user waits for, imports included.
    The terminal's output is copied to a file (`pipe-pane`) and watched there: reading the screen with
    `capture-pane` every 20 ms would start 50 processes a second, which on a 2-core box slows the
    cockpit being measured (1.31 s against 1.22 s at 100 ms polls, in one comparison)."""
    with tempfile.TemporaryDirectory() as tmp:
        started, out = Path(tmp) / "started", Path(tmp) / "pane.out"
        sock = ["tmux", "-L", f"bench-{time.monotonic_ns()}", "-f", "/dev/null"]
        # The pause lets pipe-pane attach and the window take its size before the command starts.
        cmd = (
            f"sleep 0.5; printf %s $EPOCHREALTIME > {started}; cd {root} && "
            f"exec env -u PYTHONDONTWRITEBYTECODE {sys.executable} -m cockpit.cli {command} {path}"
        )
        subprocess.run(
            sock + ["new-session", "-d", "-s", "ff", "-x", "160", "-y", "48", f"bash -c '{cmd}'"], check=True
        )
        # tmux 3.3 sizes a detached session's window 80x24 unless told to keep a manual size
        subprocess.run(sock + ["set-option", "-t", "ff", "window-size", "manual"], check=True)
        subprocess.run(sock + ["resize-window", "-t", "ff", "-x", "160", "-y", "48"], check=True)
        subprocess.run(sock + ["pipe-pane", "-t", "ff", f"cat >> {out}"], check=True)
        shown, whole, seen = float("nan"), float("nan"), b""
        want = (f"cursor {steps}/{steps}" if command == "replay" else f"{steps}/{steps}").encode()
        up = b"REPLAY" if command == "replay" else b"lora-cockpit"
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                try:
                    seen = out.read_bytes()
                except FileNotFoundError:
                    pass
                now = time.time()
                if shown != shown and up in seen:
                    shown = now
                if want in seen:
                    whole = now
                    break
                time.sleep(0.005)
            t0 = float(started.read_text())
        finally:
            subprocess.run(sock + ["kill-server"], capture_output=True)
        return shown - t0, whole - t0


def measured(argv: list[str], env: dict | None = None, root: Path = ROOT) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak resident MiB) of one process, as the kernel counted them (its own CPU
    time and max RSS, not ours; CPU time is what a busy shared box distorts least)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=root, env=env or USER_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


STATE_WHOLE = (
    "import sys; from cockpit.logs import trainer_state as ts; ts.WHOLE_BYTES = 1 << 62; "
    "from cockpit.advisor.diagnose import main; sys.exit(main(sys.argv[1]))"
)
"""`diagnose` with a trainer_state.json parsed whole, as before streaming: the side-by-side baseline."""


def formats_table(sizes: list[int], reps: int, logs_dir: Path, frames: bool) -> None:
    """Each format's generated log: `diagnose` (process: wall time and peak memory), and the replay's
    first frame (process, in tmux). Logs are made once into `logs_dir` and kept for the next run."""
    from bench.gen_formats import NAMES, WRITERS

    py = sys.executable
    print(
        "| format | steps | file | `diagnose` (process) | its CPU time | its peak memory | "
        "`cockpit replay`: on screen / whole log |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for fmt in ("events", *WRITERS):
            path = logs_dir / f"{fmt}-{n}" / ("events.jsonl" if fmt == "events" else NAMES[fmt])
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                write(n, path.parent) if fmt == "events" else WRITERS[fmt](n, path)
            runs = [measured([py, "-m", "cockpit.cli", "diagnose", str(path)]) for _ in range(reps)]
            secs, cpu, mem = (statistics.median(r[i] for r in runs) for i in range(3))
            frame = "-"
            if frames:
                shown, whole = (statistics.median(x) for x in zip(*(first_frame_process(path, n) for _ in range(reps))))
                frame = f"{shown:.2f} s / {whole:.2f} s"
            mb = path.stat().st_size / 2**20
            print(
                f"| {fmt} | {n:,} | {mb:.0f} MiB | {secs:.2f} s | {cpu:.2f} s | {mem:.0f} MiB | {frame} |", flush=True
            )
            if fmt == "trainer_state":
                whole = [measured([py, "-c", STATE_WHOLE, str(path)]) for _ in range(reps)]
                print(
                    f"| trainer_state parsed whole (before) | {n:,} | {mb:.0f} MiB | "
                    f"{statistics.median(r[0] for r in whole):.2f} s | {statistics.median(r[1] for r in whole):.2f} s | "
                    f"{statistics.median(r[2] for r in whole):.0f} MiB | - |",
                    flush=True,
                )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ab-steps", type=int, default=100_000, help="log size for the preload A/B (0: skip)")
    ap.add_argument("--formats", action="store_true", help="each log format instead: diagnose, memory, replay")
    ap.add_argument("--logs-dir", default=None, help="with --formats: where the generated logs are kept")
    ap.add_argument("--no-frames", action="store_true", help="with --formats: skip the replay in tmux")
    a = ap.parse_args()
    if a.formats:
        logs = Path(a.logs_dir or tempfile.mkdtemp(prefix="cockpit-formats-"))
        formats_table([int(x) for x in a.sizes.split(",")], a.reps, logs, not a.no_frames)
        return 0
    py = sys.executable
    rows, ab = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.sizes.split(",")]:
            rd = write(n, Path(tmp) / f"run-{n}")
            mb = (rd / "events.jsonl").stat().st_size / 2**20
            from cockpit.logs import load_history

            t0 = time.perf_counter()
            load_history(rd)
            fold = time.perf_counter() - t0
            tracemalloc.start()  # a second read, for its peak memory (tracemalloc slows it down)
            load_history(rd)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            diag = statistics.median(timed([py, "-m", "cockpit.cli", "diagnose", str(rd)]) for _ in range(a.reps))
            rep = statistics.median(timed([py, "-m", "cockpit.cli", "report", str(rd)]) for _ in range(a.reps))
            frame = statistics.median(first_frame(rd) for _ in range(a.reps))
            shown, frame_p = (statistics.median(x) for x in zip(*(first_frame_process(rd, n) for _ in range(a.reps))))
            attach = statistics.median(first_frame_process(rd, n, command="attach")[1] for _ in range(a.reps))
            rows.append((n, mb, fold, peak, diag, rep, frame, shown, frame_p, attach))
            print(f"{n} steps done", file=sys.stderr)
            if n == a.ab_steps:
                ab = preload_ab(rd, max(3, a.reps))
    print(
        "| steps | events.jsonl | read + fold to History (in-process) | peak memory of the fold | `diagnose` "
        "(process) | `report` (process) | replay first frame (in-process) | `cockpit replay`: on screen / "
        "first frame with the whole log (process, in tmux) | `cockpit attach` to the finished run: first frame "
        "with the whole log (process, in tmux) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, mb, fold, peak, diag, rep, frame, shown, frame_p, attach in rows:
        print(
            f"| {n:,} | {mb:.0f} MiB | {fold:.2f} s | {peak:.0f} MiB | {diag:.2f} s | {rep:.2f} s | {frame:.2f} s | "
            f"{shown:.2f} s / {frame_p:.2f} s | {attach:.2f} s |"
        )
    if ab:
        print()
        print(
            f"| {a.ab_steps:,} steps, interleaved | log read in a forked child (default) | in-process "
            "(`COCKPIT_NO_PRELOAD=1`) | ratio |"
        )
        print("|---|---|---|---|")
        for cmd, on, off in ab:
            print(f"| `cockpit {cmd}` | {on:.2f} s | {off:.2f} s | {on / off:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
