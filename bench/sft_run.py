"""One timed SFT run for the overhead benchmarks: the same recipe as the product's trainer, in one of
three variants, with one identical measuring callback in each.

  (a) bare TRL SFTTrainer
  (b) + the cockpit's callbacks (events written, commands polled, guards, memory readings)
  (c) + a cockpit attached: `cockpit attach` in a tmux pane when tmux is here, else the same app run
      headless (Textual's headless driver: the whole app and compositor, no terminal)
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from interleave import Interleaved, schedule

NAMES = {
    "a": "(a) bare TRL SFTTrainer",
    "a2": "(a2) bare again: the A/A control",
    "b": "(b) + cockpit callbacks",
    "c": "(c) + cockpit attached",
}


@dataclass
class RunResult:
    step_times: list[float] = field(default_factory=list)
    """Seconds per optimizer step, warm-up steps left out."""
    tokens_per_s: float | None = None
    """Non-pad tokens per second over the timed steps (TRL's `num_tokens`)."""
    peak_allocated: int | None = None
    """torch.cuda.max_memory_allocated over the run (CUDA only)."""
    cockpit_mem: dict = field(default_factory=dict)
    """The largest memory fields the cockpit logged (b and c): what its VRAM sparkline showed."""


def bench_config(path: str, steps: int):
    """The benchmarks' config: `steps` steps, a log at each, no checkpoints, no samples."""
    from cockpit.config import load_config

    return load_config(
        path,
        [
            ("training.max_steps", str(steps)),
            ("training.logging_steps", "1"),
            ("training.save_steps", "0"),
            ("samples.every", "0"),
        ],
    )


def seeded_trainer(cfg, work: Path, model_path: str, tokenizer, train_ds, idx, callbacks: list):
    """TRL's SFTTrainer as the product's trainer builds it, on a freshly loaded model seeded alike."""
    import torch
    from trl import SFTTrainer

    from cockpit.trainer import build

    torch.manual_seed(cfg.training.seed)
    model = build.load_model(cfg, model_path, idx)
    return SFTTrainer(
        model=model,
        args=build.sft_config(cfg, work / "ckpt", idx, has_eval=False),
        train_dataset=train_ds,
        processing_class=tokenizer,
        peft_config=build.lora_config(cfg, model),
        callbacks=callbacks,
    )


def attach_command(run_dir: Path) -> tuple[list[str], str]:
    """How (c) attaches: a real terminal through tmux where there is one, else Textual's headless driver."""
    if shutil.which("tmux"):
        name = f"bench-attach-{os.getpid()}"
        return (
            [
                "tmux",
                "-L",
                name,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "160",
                "-y",
                "48",
                f"{sys.executable} -m cockpit.cli attach {run_dir}",
            ],
            name,
        )
    code = (
        "import sys; from pathlib import Path; from cockpit.tui.app import CockpitApp; "
        "from cockpit.tui.sources import LiveSource; p = Path(sys.argv[1]); "
        "CockpitApp(LiveSource(p), run_dir=p).run(headless=True, size=(160, 48))"
    )
    return [sys.executable, "-c", code, str(run_dir)], ""


def run_once(variant: str, cfg, work: Path, model_path: str, tokenizer, train_ds, idx, skip: int) -> RunResult:
    import torch
    from transformers import TrainerCallback

    from cockpit.rundir import EventWriter, RunDir
    from cockpit.trainer.callbacks import RunControl, cockpit_callbacks
    from cockpit.trainer.memory import make_reader

    class StepClock(TrainerCallback):
        """The one measuring device, identical in every variant."""

        def __init__(self):
            self.t: list[float] = []
            self.tokens: list[tuple[int, float]] = []

        def on_step_end(self, args, state, control, **kw):
            if idx is not None:
                torch.cuda.synchronize()
            self.t.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and isinstance(logs.get("num_tokens"), (int, float)):
                self.tokens.append((state.global_step, float(logs["num_tokens"])))

    if idx is not None:
        torch.cuda.reset_peak_memory_stats(idx)
    clock = StepClock()
    callbacks: list = [clock]
    attached = None
    tmux_name = ""
    events = None
    rd = None
    if variant in ("b", "c"):
        rd = RunDir(work / "run").create()
        rd.config.write_text(cfg.to_yaml())
        events = EventWriter(rd.events)
        mem_kind, reader = make_reader(idx)
        callbacks[0:0] = cockpit_callbacks(RunControl(rd, cfg, events), reader, mem_kind)
        if variant == "c":
            argv, tmux_name = attach_command(rd.path)
            if tmux_name:
                subprocess.run(argv, check=True)
            else:
                attached = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
                )
            time.sleep(2.0)  # let the cockpit start and draw before timing begins
    trainer = seeded_trainer(cfg, work, model_path, tokenizer, train_ds, idx, callbacks)
    try:
        trainer.train()
    finally:
        if tmux_name:
            subprocess.run(["tmux", "-L", tmux_name, "kill-server"], capture_output=True)
        if attached is not None:
            attached.terminate()
            attached.wait(10)
        if events is not None:
            events.close()
    out = RunResult()
    out.step_times = [b - a for a, b in zip(clock.t, clock.t[1:])][skip:]
    # tokens/s over the same timed window: steps skip+1 .. last
    tok = dict(clock.tokens)
    first, last = skip + 1, len(clock.t)
    if first in tok and last in tok and last > first:
        out.tokens_per_s = (tok[last] - tok[first]) / (clock.t[last - 1] - clock.t[first - 1])
    if idx is not None:
        out.peak_allocated = torch.cuda.max_memory_allocated(idx)
    if rd is not None:
        out.cockpit_mem = _largest_memory_fields(rd.events)
    del trainer
    gc.collect()
    if idx is not None:
        torch.cuda.empty_cache()
    return out


def _largest_memory_fields(events: Path) -> dict:
    import json

    best: dict = {}
    for line in events.read_text().splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("kind") != "metrics":
            continue
        for k in ("mem_used", "mem_allocated", "mem_reserved", "mem_peak", "mem_total"):
            v = ev.get(k)
            if isinstance(v, (int, float)) and v > best.get(k, -1):
                best[k] = v
    return best


def variant_switch(plan, enter, result: Interleaved, idx, skip: int, deadline: float | None = None):
    """The interleaved runs' clock and switch, listed first among the callbacks so it runs before the
    measured ones in every hook: reads the clock at each step end, records the step under its variant
    (after `skip` warm-up steps), then calls `enter(variant)` for the next step's. At `deadline`
    (time.monotonic()) the run ends after the step in hand."""
    import torch
    from transformers import TrainerCallback

    class Switch(TrainerCallback):
        t_end: float | None = None
        current: tuple[int, str] = plan[0]

        def on_train_begin(self, args, state, control, **kw):
            enter(self.current[1])

        def on_step_end(self, args, state, control, **kw):
            if idx is not None:
                torch.cuda.synchronize()
            now = time.perf_counter()
            if self.t_end is not None and state.global_step > skip:
                result.rows.append((state.global_step, *self.current, now - self.t_end))
            self.t_end = now
            if deadline is not None and time.monotonic() > deadline:
                control.should_training_stop = True
            nxt = plan[min(state.global_step, len(plan) - 1)]
            if nxt[1] != self.current[1]:
                enter(nxt[1])
            self.current = nxt

    return Switch()


def run_interleaved(
    cfg,
    work: Path,
    model_path: str,
    tokenizer,
    train_ds,
    idx,
    block: int,
    variants: tuple[str, ...] = ("a", "a2", "b", "c"),
    skip: int = 20,
    seed: int = 1,
    deadline: float | None = None,
) -> Interleaved:
    """One run of cfg.training.max_steps steps whose variant changes every `block` steps, in rounds of
    shuffled order (bench/interleave.py says why). (a) and (a2): the cockpit's callback does nothing and
    the attached cockpit is frozen (SIGSTOP); (b): the callback works, the cockpit is frozen; (c): both
    work. Each timed interval runs from one step end to the next, and the variant changes right after
    the clock is read, so every interval (the previous step's log, this step's hooks and work) belongs
    to one variant: no step is left out at a switch. The first `skip` steps are warm-up. At `deadline`
    (time.monotonic()) the run ends after the step in hand: a time-boxed run keeps what it measured."""
    import signal

    import psutil
    import torch
    from transformers import TrainerCallback

    from cockpit.rundir import EventWriter, RunDir
    from cockpit.trainer.callbacks import RunControl, cockpit_callbacks
    from cockpit.trainer.memory import make_reader

    rd = RunDir(work / "run").create()
    rd.config.write_text(cfg.to_yaml())
    events = EventWriter(rd.events)
    mem_kind, reader = make_reader(idx)
    inner = cockpit_callbacks(RunControl(rd, cfg, events), reader, mem_kind)
    always = ("on_init_end", "on_train_begin", "on_train_end")

    class Toggled(TrainerCallback):
        on = False

    for hook in [n for n in dir(TrainerCallback) if n.startswith("on_")]:

        def forward(self, *args, _hook=hook, **kw):
            if self.on or _hook in always:
                for cb in inner:
                    getattr(cb, _hook)(*args, **kw)
            return

        setattr(Toggled, hook, forward)
    toggled = Toggled()

    cockpit = attached = None
    tmux_name = ""
    if "c" in variants:
        argv, tmux_name = attach_command(rd.path)
        if tmux_name:
            subprocess.run(argv, check=True)
            pane = subprocess.run(
                ["tmux", "-L", tmux_name, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True
            ).stdout.split()[0]
            cockpit = psutil.Process(int(pane))
        else:
            attached = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
            )
            cockpit = psutil.Process(attached.pid)
        time.sleep(2.0)
    plan = schedule(list(variants), block, cfg.training.max_steps + 1, seed)
    result = Interleaved()

    def enter(variant: str) -> None:
        toggled.on = variant in ("b", "c")
        if cockpit is not None:
            cockpit.send_signal(signal.SIGCONT if variant == "c" else signal.SIGSTOP)

    trainer = seeded_trainer(
        cfg,
        work,
        model_path,
        tokenizer,
        train_ds,
        idx,
        [variant_switch(plan, enter, result, idx, skip, deadline), toggled],
    )
    try:
        trainer.train()
    finally:
        if cockpit is not None:
            cockpit.send_signal(signal.SIGCONT)
        if tmux_name:
            subprocess.run(["tmux", "-L", tmux_name, "kill-server"], capture_output=True)
        elif attached is not None:
            attached.terminate()
            attached.wait(10)
        events.close()
    del trainer
    gc.collect()
    if idx is not None:
        torch.cuda.empty_cache()
    return result
