"""The first hour, second round (#37): what a newcomer meets right after `make demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuihelpers import write_run

VENV_BIN = Path(sys.executable).parent


def _cockpit_command(path_env: str) -> str:
    code = "from cockpit.invocation import cockpit_command; print(cockpit_command())"
    env = {**os.environ, "PATH": path_env}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_copied_command_names_the_venvs_cockpit_when_the_venv_is_not_on_path():
    # After `make demo` the shell's PATH lacks .venv/bin: a bare `cockpit attach` is "command not found".
    if not (VENV_BIN / "cockpit").exists():
        pytest.skip("no installed cockpit script beside this python")
    shown = _cockpit_command("/usr/bin:/bin")
    assert shown != "cockpit"
    assert Path(shown).resolve() == (VENV_BIN / "cockpit").resolve()


def test_a_copied_command_is_the_bare_name_when_the_shell_finds_this_cockpit():
    if not (VENV_BIN / "cockpit").exists():
        pytest.skip("no installed cockpit script beside this python")
    assert _cockpit_command(f"{VENV_BIN}:/usr/bin:/bin") == "cockpit"


# ---- the footer (#37 item 3) --------------------------------------------------------------------------


def _footer_keys(app):
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))
    width = app.screen.size.width
    for k in keys:  # every key shown whole: none cut at the screen's edge
        assert k.region.right <= width, f"{k.description!r} cut at x={k.region.x}..{k.region.right} of {width}"
    return {k.description: k for k in keys}


async def _footer(app, size):
    async with app.run_test(size=size) as pilot:
        for _ in range(50):  # the footer composes once the run's first events are read (slow on a busy box)
            await pilot.pause(0.1)
            if len(_footer_keys(app)) > 2:
                break
        await pilot.pause(0.2)
        return _footer_keys(app)


async def test_help_and_detach_always_in_the_footer_and_no_key_cut_mid_word(tmp_path):
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", pid=os.getpid())
    for size in ((80, 24), (120, 40), (160, 48)):
        shown = await _footer(live_app(rd), size)
        assert {"Help", "Detach", "Pause", "Apply advice"} <= set(shown), (size, sorted(shown))
    wide = await _footer(live_app(rd), (200, 50))
    assert {"lr×½", "Save", "Stop", "Zoom", "Theme"} <= set(wide)


async def test_a_finished_runs_footer_offers_no_pause_or_lr_keys(tmp_path):
    from test_first_hour import live_app

    done = write_run(tmp_path / "f", state="finished")
    shown = await _footer(live_app(done), (120, 40))
    assert not {"Pause", "Resume", "lr×½", "lr×2", "Set lr", "Save", "Stop"} & set(shown), sorted(shown)
    assert {"Help", "Detach"} <= set(shown)


async def test_a_replays_q_quits_rather_than_detaches(tmp_path):
    from test_first_hour import replay_app

    rd = write_run(tmp_path / "r", pid=os.getpid())
    shown = await _footer(replay_app(rd), (80, 24))
    assert "Quit" in shown and "Detach" not in shown and "Help" in shown


# ---- --headless (#37 item 12) ---------------------------------------------------------------------------


def test_headless_ends_with_the_verdict_the_adapter_and_the_next_command(tmp_path):
    import io

    from cockpit.headless import follow
    from cockpit.rundir import dumps

    rd = write_run(tmp_path / "r", state="finished")
    (rd.adapter).mkdir()
    (rd.adapter / "adapter_config.json").write_text("{}")
    long_answer = "The capital of France is Paris, " * 5
    *before, final = rd.events.read_text().splitlines()  # a sample logged just before the final state
    sample = dumps({"v": 1, "t": 1.0, "kind": "sample", "step": 60, "prompt": "Q?", "completion": long_answer})
    rd.events.write_text("\n".join([*before, sample, final]) + "\n")
    out = io.StringIO()
    assert follow(rd, out=out, poll=0.01) == 0
    text = out.getvalue()
    assert "verdict: " in text
    assert f"adapter: {rd.adapter}" in text
    assert f"report {rd.path}" in text.splitlines()[-1]
    # the sample line shows the whole answer, not its first 24 characters
    assert long_answer.strip() in text.replace("'", "")


# ---- the zoom (#37 item 5) --------------------------------------------------------------------------------


def _zoom_text(app) -> str:
    from cockpit.tui.widgets.redrawn_plot import RedrawnPlot

    return app.screen.query_one(RedrawnPlot).built()


async def test_the_zoom_has_whole_steps_labels_its_actions_and_follows_a_live_run(tmp_path):
    import re

    from test_first_hour import live_app

    from cockpit.tui.modals import short_label
    from tuihelpers import append

    rd = write_run(tmp_path / "r", steps=47, pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if len(app.screen.history) >= 47:
                break
        marks = app.screen.history.marks
        await pilot.press("z")
        await pilot.pause(0.5)
        assert type(app.screen).__name__ == "ZoomModal"
        text = _zoom_text(app)
        axis = text.splitlines()[-2]  # the x tick labels, above the "step" label
        assert re.findall(r"\d+", axis) and not re.search(r"\d\.\d", axis), axis
        label = next(m.label for m in marks if m.kind == "ack")
        assert short_label(label)[:8] in text, (label, text)
        drawn = app.screen._drawn_last
        for step in range(48, 61):
            append(rd, kind="metrics", step=step, loss=0.7, grad_norm=1.0, learning_rate=1e-4)
        for _ in range(40):
            await pilot.pause(0.1)
            if app.screen._drawn_last != drawn:
                break
        assert app.screen._drawn_last == 60, "the zoom did not follow the run"


async def test_the_update_size_zoom_reads_in_percent_as_its_tile(tmp_path):
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        app.screen.query_one("#m-update_ratio").focus()
        await pilot.press("z")
        await pilot.pause(0.5)
        assert "update size (%)" in _zoom_text(app) or "(%)" in _zoom_text(app)
        assert app.screen.scale == 100.0


async def test_a_log_zoom_survives_a_resize(tmp_path):
    # plotext logs a log axis' values in place as it builds: a resize re-rendered the zoom and crashed.
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", state="finished")
    app = live_app(rd)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        app.screen.query_one("#m-grad_norm").focus()
        await pilot.press("z", "y")
        await pilot.pause(0.3)
        first = _zoom_text(app)
        assert "(log)" in first
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "ZoomModal" and _zoom_text(app) == first


# ---- the report's samples (#37 item 11) ---------------------------------------------------------------


def test_the_report_shows_each_prompts_first_and_last_generation_and_marks_general_prompts(tmp_path):
    from cockpit.general import SAMPLE_QUESTIONS
    from cockpit.report import main
    from cockpit.rundir import dumps

    rd = write_run(tmp_path / "r", state="finished")
    *before, final = rd.events.read_text().splitlines()
    gens = [(10, "Reverse the word.\nstorm", "storm storm"), (60, "Reverse the word.\nstorm", "mrots")]
    gens += [
        (10, SAMPLE_QUESTIONS[0], "Paris"),
        (35, "Reverse the word.\nstorm", "mrot"),
        (60, SAMPLE_QUESTIONS[0], "{"),
    ]
    lines = [dumps({"v": 1, "t": 1.0, "kind": "sample", "step": s, "prompt": p, "completion": c}) for s, p, c in gens]
    rd.events.write_text("\n".join([*before, *lines, final]) + "\n")
    md, html = tmp_path / "r.md", tmp_path / "r.html"
    assert main(str(rd.path), out=str(md)) == 0 and main(str(rd.path), out=str(html)) == 0
    text = md.read_text()
    section = text[text.index("Samples") :]
    assert (
        "prompt: Reverse the word. ⏎ storm" in section
        and "'storm storm'" in section
        and "'mrots'" in section
        and "'mrot'" not in section
    )  # first and last only
    assert f"general prompt (forgetting): {SAMPLE_QUESTIONS[0]}" in section
    assert section.index("prompt: Reverse") < section.index("general prompt")
    page = html.read_text()
    assert "<h2>Samples</h2>" in page and "mrots" in page and "general prompt (forgetting)" in page


# ---- the estimate on an empty cache (#37 items 1-2) ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("config", sorted((ROOT / "sample_configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_estimate_answers_every_sample_config_on_an_empty_cache_without_building(tmp_path, config):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "estimate", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode in (0, 1, 2), r.stderr  # fits / tight / does not fit: an answer, not a refusal
    assert "memory estimate for" in r.stdout and "total" in r.stdout
    assert "not built yet" in r.stdout or "not fetched yet" in r.stdout or "bundled table" in r.stdout
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("config.json"))  # nothing built


def test_the_bundled_shapes_are_the_built_models():
    from cockpit.demo import ensure_demo_model
    from cockpit.estimate.known_shapes import DEMO, bundled, table_key
    from cockpit.estimate.shapes import from_config, from_config_json
    from cockpit.models import KNOWN

    built = from_config_json(ensure_demo_model())
    recipe = from_config(DEMO, "demo")
    assert (built.linears, built.total_params) == (recipe.linears, recipe.total_params)
    smol = KNOWN["smollm2-135m-instruct"]
    assert {k: v for k, v in bundled("HuggingFaceTB/SmolLM2-135M-Instruct").items() if k in smol.shape} == smol.shape
    assert table_key("meta-llama/Llama-3.1-8B-Instruct") == "llama-3.1-8b"
    assert from_config(bundled("Qwen/Qwen2.5-0.5B"), "q").total_params == 494_032_768  # Qwen's published count


def test_an_unknown_hub_model_is_refused_with_the_next_step(tmp_path):
    from cockpit.config import load_config
    from cockpit.demo import demo_config_path
    from cockpit.estimate.fit import shape_for
    from cockpit.estimate.shapes import ShapeError

    cfg = load_config(demo_config_path(), [("model.name_or_path", "nobody/rare-model-7b")])
    with pytest.raises(ShapeError, match="huggingface-cli download nobody/rare-model-7b config.json"):
        shape_for(cfg, exact=False, build_demo=False)


async def test_the_footer_fits_again_when_the_terminal_is_resized(tmp_path):
    from test_first_hour import live_app

    rd = write_run(tmp_path / "r", pid=os.getpid())
    app = live_app(rd)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if len(_footer_keys(app)) > 2:
                break
        narrow = set(_footer_keys(app))
        await pilot.resize_terminal(160, 40)
        for _ in range(30):
            await pilot.pause(0.1)
            if len(_footer_keys(app)) > len(narrow):
                break
        wide = set(_footer_keys(app))
        assert narrow < wide and {"Zoom", "lr×2"} <= wide - narrow, (narrow, wide)
