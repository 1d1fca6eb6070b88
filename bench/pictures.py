"""`make pictures`: the README's pictures, regenerated from fixed inputs into docs/pictures/.

    live.svg     the live cockpit on a run that is going               (Textual's SVG screenshot)
    zoom.svg     the zoom on grad_norm: full chart, axes, bands, marks (Textual)
    replay.svg   a replay of a real public trainer_state.json          (Textual)
    script.svg   the cockpit on a user's own TRL script run (recorded)   (Textual)
    tiles.svg    the same public log at its end: the tiles' axes, the EMA over faint raw bars, grad_norm
                 on a log scale (y)                                    (Textual)
    picker.svg   k: the metric picker over that log, every key it logs (Textual)
    browser.svg  `cockpit browse`: a folder of our runs and other tools' logs (Textual)
    sweep.svg    the sweep view over a real three-trial lr sweep       (Textual)
    compare.svg  the compare view over the same sweep's trials         (Textual)
    report.png   the HTML report, rendered by headless chromium
    serve.png    `cockpit serve` in headless chromium

The inputs never change, so neither do the pictures unless the cockpit's look does: the live, zoom and
report pictures read the run the snapshot tests write (tests/tuihelpers.py: a loss decline, a grad_norm
spike, an lr halving, a checkpoint; fixed times), the replay reads a public log in tests/fixtures/real-logs/,
and the sweep is the real trainer's on the demo model, seeded (as tests/test_sweep.py runs it).

    python bench/pictures.py [--out DIR] [--textual-only]

--textual-only makes only live, zoom and replay (no trainer, no chromium: the fast path
tests/test_pictures.py takes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

OUT = ROOT / "docs" / "pictures"
REAL_LOG = ROOT / "tests" / "fixtures" / "real-logs" / "04_vendor-comp-classifier.json"
FAST = ("live.svg", "zoom.svg", "replay.svg", "script.svg", "tiles.svg", "picker.svg", "browser.svg")
ALL = (*FAST, "sweep.svg", "compare.svg", "report.png", "serve.png")
SIZE = (160, 48)


async def settle(pilot, ready) -> None:
    """Until `ready(app)` holds (the history is drawn), then a little more for the last paint."""
    for _ in range(100):
        await pilot.pause(0.1)
        if ready(pilot.app):
            break
    await pilot.pause(0.5)


def drawn(app) -> bool:
    from textual.widgets import Footer

    scr = app.screen
    return (
        bool(len(getattr(scr, "history", ())))
        and bool(scr.query(Footer))
        and bool(list(scr.query_one(Footer).children))
    )


async def shoot(app, out: Path, title: str, size=SIZE, keys=(), before=None, ready=drawn) -> Path:
    async with app.run_test(size=size) as pilot:
        await settle(pilot, ready)
        if before is not None:
            before(app)
        for key in keys:
            shown = app.screen
            await pilot.press(key)
            for _ in range(50):  # a key that opens a view (z): until it is on screen, the first one imports plotext
                await pilot.pause(0.1)
                if app.screen is not shown:
                    break
            await pilot.pause(0.5)
        out.write_text(app.export_screenshot(title=title))
    return out


def live_app(runs: Path):
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0, write_run

    # The trainer's pid is this process: the cockpit sees a trainer alive, a run going at step 60 of 100.
    rd = write_run(runs / "demo-run", state=None, pid=os.getpid())
    return CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 64)


def script_app(runs: Path):
    """The cockpit on a user's own TRL SFTTrainer script run under `cockpit run -- python ...` (the
    recording tests/fixtures/script-run: 20 real steps of examples/sft_trl.py on the demo model)."""
    import shutil

    from cockpit.rundir import RunDir
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import LiveSource
    from tuihelpers import T0

    rd = RunDir(runs / "sft-trl-script").create()
    shutil.copyfile(ROOT / "tests" / "fixtures" / "script-run" / "events.jsonl", rd.events)
    return CockpitApp(LiveSource(rd.path, poll=0.02), run_dir=rd.path, clock=lambda: T0 + 64)


def replay_app(cursor: int | None = 30):
    """A real public log at its step 300 of 1000 (None: at its end): the advisor's reading there, the
    grad_norm explosion."""
    from cockpit.logs import load_history
    from cockpit.tui.app import CockpitApp
    from cockpit.tui.sources import ReplaySource

    history, log = load_history(REAL_LOG)
    src = ReplaySource(history, log.title, speed=10)
    src.seek(len(history) if cursor is None else cursor)
    return CockpitApp(src, run_dir=None)


def browser_app(runs: Path):
    """`cockpit browse runs`: the folder the browser tests read (our runs, one of them training; a real
    trainer_state.json, LLaMA-Factory and console logs, a W&B export)."""
    from test_browser import runs_folder

    from cockpit.tui.browser_app import BrowserApp

    runs_folder(runs)
    return BrowserApp(runs)


def browser_read(app) -> bool:
    from cockpit.tui.browser_screen import BrowserScreen

    return isinstance(app.screen, BrowserScreen) and app.screen.read_all


def real_sweep(runs: Path) -> Path:
    """An lr sweep of the real trainer on the demo model (~30 s on two cores; seeded, so the losses and
    verdicts repeat): too low, good, too high. Renamed to runs/demo-sweep so its paths do not carry a time."""
    from cockpit.demo import demo_config_path

    subprocess.run(
        [
            sys.executable,
            "-m",
            "cockpit.cli",
            "sweep",
            str(demo_config_path()),
            "--lrs",
            "1e-6,3e-4,0.5",
            "--steps",
            "40",
            "--set",
            "samples.every=0",
            "--set",
            "training.warmup_ratio=0.0",
            "--set",
            "training.lr_scheduler_type=constant",
            "--runs-dir",
            "runs",
            "--headless",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    made = next(runs.glob("demo-sweep-*"))
    sweep = runs / "demo-sweep"
    made.rename(sweep)
    summary = sweep / "sweep.json"
    summary.write_text(
        summary.read_text().replace(str(made.resolve()), "runs/demo-sweep").replace(str(made), "runs/demo-sweep")
    )
    return sweep


def focus_grad_norm(app) -> None:
    app.screen.query_one("#m-grad_norm").focus()


async def textual_pictures(out: Path, runs: Path) -> list[Path]:
    return [
        await shoot(live_app(runs / "live"), out / "live.svg", "cockpit attach runs/demo-run"),
        await shoot(
            live_app(runs / "zoom"),
            out / "zoom.svg",
            "cockpit: z (zoom) on grad_norm",
            before=focus_grad_norm,
            keys=("z",),
        ),
        await shoot(replay_app(), out / "replay.svg", f"cockpit replay {REAL_LOG.name}"),
        await shoot(
            script_app(runs / "script"),
            out / "script.svg",
            "cockpit run -- python examples/sft_trl.py ...",
        ),
        await shoot(
            replay_app(None),
            out / "tiles.svg",
            f"cockpit replay {REAL_LOG.name}: the charts' axes, EMA (S), y (log) on grad_norm",
            before=focus_grad_norm,
            keys=("y",),
        ),
        await shoot(
            replay_app(None), out / "picker.svg", f"cockpit replay {REAL_LOG.name}: k (metric picker)", keys=("k",)
        ),
        await shoot(
            browser_app(runs / "browse"), out / "browser.svg", f"cockpit browse {runs / 'browse'}", ready=browser_read
        ),
    ]


async def sweep_pictures(out: Path, runs: Path) -> list[Path]:
    """The sweep view, and the compare view of the same trials (`c` there, or `cockpit compare --view`)."""
    from cockpit.compare.feed import CompareFeed
    from cockpit.tui.compare_app import CompareApp
    from cockpit.tui.sweep_app import SweepApp

    sweep = Path("runs") / real_sweep(runs).name
    return [
        await shoot(
            SweepApp(sweep), out / "sweep.svg", "cockpit replay runs/demo-sweep", size=(160, 40), ready=lambda app: True
        ),
        await shoot(
            CompareApp(CompareFeed([str(sweep)])),
            out / "compare.svg",
            "cockpit compare runs/demo-sweep --view",
            size=(160, 40),
            ready=lambda app: len(app.screen.query("CompareView")) > 0,
        ),
    ]


def report_picture(out: Path, runs: Path) -> Path:
    from chromium import screenshot

    from tuihelpers import write_run

    rd = write_run(runs / "demo-run", state="finished")
    # Exit 3 says the run had a danger finding (its grad_norm spike); the report is written all the same.
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "report", str(rd.path), "--out", "report.html"],
        capture_output=True,
        text=True,
    )
    if r.returncode not in (0, 3):
        raise RuntimeError(f"cockpit report exited {r.returncode}: {r.stderr}")
    return screenshot(Path("report.html").resolve().as_uri(), out / "report.png", 960, 1700)


def serve_picture(out: Path, runs: Path) -> Path:
    """`cockpit serve` in the light theme (the dark one is the live picture's)."""
    from chromium import free_port, live_screenshot

    from tuihelpers import write_run

    rd = write_run(runs / "demo-run", state="finished")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "serve", str(rd.path), "--port", str(port), "--theme", "cockpit-light"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = server.stdout.readline().split(" at ", 1)[1].split()[0]  # the printed URL, with this serve's key
        time.sleep(3)  # the server binds in about a second; the page then waits for the app itself
        live_screenshot(
            url,
            out / "serve.png",
            1440,
            900,
            ready="document.body.classList.contains('-first-byte')",
            settle=3.0,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out / "serve.png"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT, help="where the pictures go (default: docs/pictures)")
    ap.add_argument("--textual-only", action="store_true", help="skip the chromium pictures")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="pictures-") as tmp:
        os.chdir(tmp)  # the pictures show runs/..., never this temporary directory
        # The SOP's charts, not the charts this user picked with `k` (kept under $XDG_CONFIG_HOME).
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "xdg-config")
        try:
            made = asyncio.run(textual_pictures(out, Path("runs")))
            if not args.textual_only:
                made += asyncio.run(sweep_pictures(out, Path("runs")))
                made += [report_picture(out, Path("runs")), serve_picture(out, Path("runs") / "serve")]
        finally:
            os.chdir(here)
    for p in made:
        print(f"{p}  {p.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
