"""Issue #38 item 5: system metrics from the trainer (CPU, RSS, RAM, disk; GPU through NVML) as `system`
events at a low rate, charted in the cockpit through the metric picker (`k`), and the metadata view (`i`)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from test_snapshots import settled

from cockpit.history import History
from cockpit.history.blocks import MetricsBlock, prefold
from cockpit.rundir import SYSTEM_KEYS, RunDir, dumps
from cockpit.system_metrics import fmt_system
from cockpit.trainer.system_sampler import EVERY_ENV, SystemSampler, every_from_env
from cockpit.tui.app import CockpitApp
from cockpit.tui.metric_picker import MetricPicker
from cockpit.tui.modals import TextModal
from cockpit.tui.sources import LiveSource
from runhelpers import cockpit, demo_yaml, events
from tuihelpers import T0, write_run

GIB = 2**30


def test_a_cpu_reading_holds_the_process_the_machine_and_the_disk(tmp_path):
    sampler = SystemSampler(tmp_path, device_index=None)
    sum(i * i for i in range(300_000))  # some CPU work for the process's share to see
    got = sampler.sample()
    assert set(got) <= set(SYSTEM_KEYS) and not any(k.startswith("gpu_") for k in got)
    assert got["proc_cpu_percent"] > 0 and 0 <= got["cpu_percent"] <= 100
    assert 10 << 20 < got["rss"] < got["ram_total"] and 0 < got["ram_used"] <= got["ram_total"]
    assert 0 < got["disk_free"] <= got["disk_total"] and got["load_1m"] >= 0


def test_a_cuda_device_without_nvml_gives_no_gpu_fields_and_no_error(tmp_path, monkeypatch):
    import pynvml

    def no_driver():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    got = SystemSampler(tmp_path, device_index=0).sample()
    assert "rss" in got and not any(k.startswith("gpu_") for k in got)


def test_the_gpu_fields_come_from_nvml_in_their_units(tmp_path, monkeypatch):
    """No GPU on this machine: NVML's answers for one H100 (the shapes pynvml returns), power in mW."""
    import pynvml

    asked = []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda i: asked.append(i) or "h")
    monkeypatch.setattr(pynvml, "nvmlDeviceGetUtilizationRates", lambda h: pynvml.c_nvmlUtilization_t(97, 40))
    monkeypatch.setattr(
        pynvml, "nvmlDeviceGetMemoryInfo", lambda h: pynvml.c_nvmlMemory_t(80 * GIB, 20 * GIB, 60 * GIB)
    )
    monkeypatch.setattr(pynvml, "nvmlDeviceGetPowerUsage", lambda h: 312_456)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetTemperature", lambda h, sensor: 61)
    got = SystemSampler(tmp_path, device_index=0).sample()
    assert asked == [3]  # torch's device 0 is the physical GPU 3 under CUDA_VISIBLE_DEVICES=3
    assert {k: got[k] for k in got if k.startswith("gpu_")} == {
        "gpu_util": 97.0,
        "gpu_mem_used": 60 * GIB,
        "gpu_mem_total": 80 * GIB,
        "gpu_power_w": 312.5,
        "gpu_temp_c": 61.0,
    }


def test_a_gpu_query_that_fails_is_dropped_and_the_others_kept(tmp_path):
    sampler = SystemSampler(tmp_path)
    calls = []

    def power():
        calls.append("power")
        raise RuntimeError("not supported on this GPU")

    sampler._gpu_reads = [lambda: {"gpu_util": 97.0}, power, lambda: {"gpu_temp_c": 61.0}]
    assert {"gpu_util", "gpu_temp_c"} <= set(sampler.sample()) and "gpu_power_w" not in sampler.sample()
    assert calls == ["power"]  # asked once: a failing query is not paid for at every reading


def test_the_interval_is_read_from_the_environment_and_a_bad_one_is_refused_by_name():
    assert every_from_env({}) == 15.0 and every_from_env({EVERY_ENV: "0"}) == 0.0
    assert every_from_env({EVERY_ENV: " 2.5 "}) == 2.5 and every_from_env({EVERY_ENV: "OFF"}) is None
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(ValueError, match=rf"^{EVERY_ENV}: '{re.escape(bad)}' is not a number of seconds >= 0"):
            every_from_env({EVERY_ENV: bad})


def test_the_values_read_with_their_units():
    assert fmt_system("rss", 1.5 * GIB) == "1.50G" and fmt_system("gpu_util", 97.4) == "97%"
    assert fmt_system("gpu_power_w", 312.4) == "312 W" and fmt_system("gpu_temp_c", 61) == "61 °C"
    assert fmt_system("loss", 1.0) is None


def sys_event(step: int, **fields) -> dict:
    return {"v": 1, "t": T0 + step, "kind": "system", "step": step, **fields}


def test_the_history_keeps_system_readings_on_their_own_steps():
    h = History().extend([{"kind": "metrics", "step": s, "loss": 1.0} for s in range(1, 101)])
    h.extend([sys_event(1, cpu_percent=50.0, rss=100), sys_event(40, cpu_percent=60.0, rss=120, gpu_util=90.0)])
    assert list(h.sys_steps) == [1, 40] and "cpu_percent" not in h.series
    steps, values = h.side_series("cpu_percent")
    assert list(steps) == [1, 40] and list(values) == [50.0, 60.0]
    gpu = list(h.side_series("gpu_util")[1])
    assert gpu[0] != gpu[0] and gpu[1] == 90.0  # a field first read late: NaN before it
    assert h.side_series("loss") is None and h.side_series("nothing") is None
    assert list(h.upto(30).sys_steps) == [1]  # a replay's cursor at step 30 sees the readings up to it
    h.add(sys_event(20, cpu_percent=70.0))  # a resume reads again from its checkpoint's step
    assert list(h.sys_steps) == [1, 20] and list(h.sys_series["cpu_percent"]) == [50.0, 70.0]
    h.add(sys_event(60, cpu_percent="high", note="x"))  # a word is no reading
    assert len(h.sys_series["cpu_percent"]) == 3 and "note" not in h.sys_series


def test_system_readings_do_not_cut_a_long_run_of_metrics_into_short_blocks():
    """A run logging every step at a step a second has a reading every 15 logged steps: cut there, every
    block was under the 64 rows of the column path, and a 100,000-step log folded 4-5x slower."""
    evs = []
    for s in range(1, 201):
        evs.append({"v": 1, "t": T0 + s, "kind": "metrics", "step": s, "loss": 2.0 - s / 1000})
        if s % 15 == 0:
            evs.append(sys_event(s, cpu_percent=float(s)))
    items = list(prefold(evs))
    blocks = [i for i in items if isinstance(i, MetricsBlock)]
    assert len(blocks) == 1 and blocks[0].steps == list(range(1, 201))  # one block, on the column path
    assert [i["step"] for i in items if isinstance(i, dict)] == list(range(15, 201, 15))
    h = History().extend(evs)
    assert list(h.sys_steps) == list(range(15, 201, 15)) and list(h.steps) == list(range(1, 201))
    assert h.last_event_t == T0 + 200  # the block's last event, not a reading held before it


def write_system_run(path: Path) -> RunDir:
    """The test run of the other Pilot tests, with the readings a CUDA trainer writes every few steps."""
    rd = write_run(path, steps=60, state="finished")
    started = next(e for e in events(rd.path) if e["kind"] == "run_started")
    started.update(
        host="gpu-box-7",
        python="3.11.9",
        python_executable="/opt/venv/bin/python",
        platform="Linux-6.8.0-x86_64-with-glibc2.39",
        command=["/opt/venv/bin/python", "-m", "cockpit.trainer", str(path)],
        launched_by=["/opt/venv/bin/cockpit", "run", "qwen.yaml"],
        versions={"torch": "2.13.0", "transformers": "5.1.0", "peft": "0.21.0", "trl": "1.2.0"},
    )
    lines = [dumps(started)]
    for s in range(5, 61, 5):
        lines.append(
            dumps(
                sys_event(
                    s,
                    cpu_percent=40.0 + s / 10,
                    rss=3 * GIB,
                    gpu_util=90.0 + s / 10,
                    gpu_mem_used=60 * GIB,
                    gpu_mem_total=80 * GIB,
                    gpu_power_w=300.0 + s,
                    gpu_temp_c=60.0,
                )
            )
        )
    with open(rd.events, "a") as f:
        f.write("\n".join(lines) + "\n")
    return rd


def plain(renderable) -> str:
    """What a view shows, as text (all of it: the dialog scrolls)."""
    from rich.console import Console

    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def pick(pilot, tile: str, name: str) -> None:
    """`k` on a tile, the name typed in the filter, enter."""
    pilot.app.screen.query_one(f"#{tile}").focus()
    await pilot.press("k")
    await pilot.pause()
    assert isinstance(pilot.app.screen, MetricPicker)
    await pilot.press(*f"^{name}$", "enter")
    await settled(pilot)
    await pilot.pause()


async def test_gpu_readings_are_charted_after_picking_them_and_i_opens_the_metadata(tmp_path):
    rd = write_system_run(tmp_path / "run")
    app = CockpitApp(LiveSource(rd.path), run_dir=rd.path, theme="cockpit-dark")
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        scr = app.screen
        await pilot.press("k")
        await pilot.pause()
        assert set(SYSTEM_KEYS) - {
            "proc_cpu_percent",
            "ram_used",
            "ram_total",
            "load_1m",
            "disk_free",
            "disk_total",
        } <= set(app.screen.names)
        await pilot.press("escape")
        # A reading is drawn by the next watched frame; a state change at once.
        assert not scr._alarming([sys_event(61, gpu_util=99.0)]) and scr._alarming([{"kind": "state", "step": 61}])
        await pick(pilot, "m-entropy", "gpu_util")
        await pick(pilot, "m-tokens_per_s", "gpu_power_w")
        for key, last in (("gpu_util", "96%"), ("gpu_power_w", "360 W")):
            panel = scr.query_one(f"#{key}") if scr.query(f"#{key}") else scr._panels[key]
            text = str(panel.render())
            assert panel.display and text.startswith(f"{key}  {last}"), text
            assert any(ch in text for ch in "▁▂▃▄▅▆▇█"), text
            assert list(panel.steps) == list(range(5, 61, 5))
        await pilot.press("z")  # the zoom of a system metric: its own steps
        await pilot.pause()
        assert "gpu_power_w" in app.screen.title_text
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, TextModal) and app.screen.title_text == "Run metadata"
        shown = plain(app.screen.text)
        for said in (
            "gpu-box-7",
            "3.11.9",
            "Linux-6.8.0",
            "transformers",
            "5.1.0",
            "accelerate",
            "/opt/venv/bin/cockpit run qwen.yaml",
            "GPU utilisation",
            "96%",
            "60.00G of 80.00G",
            "training.learning_rate",
        ):
            assert said in shown, (said, shown)


@pytest.mark.slow
async def test_a_live_demo_run_writes_system_events_and_the_cockpit_charts_them(tmp_path, monkeypatch):
    """The acceptance: the real trainer on the tiny demo model writes `system` events (a reading at every
    logged step here), and the cockpit on its run directory charts them and shows the metadata."""
    monkeypatch.setenv(EVERY_ENV, "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cfg = demo_yaml(tmp_path, training__max_steps=6, training__logging_steps=2, samples__every=0)
    r = cockpit("run", str(cfg), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (run_dir,) = list((tmp_path / "runs").iterdir())
    evs = events(run_dir)
    started = next(e for e in evs if e["kind"] == "run_started")
    assert started["python"] and started["platform"] and "accelerate" in started["versions"]
    assert started["launched_by"][2:4] == ["run", str(cfg)]  # the `cockpit run` that started the trainer
    system = [e for e in evs if e["kind"] == "system"]
    assert [e["step"] for e in system] == [e["step"] for e in evs if e["kind"] == "metrics"] == [1, 2, 4, 6]
    for e in system:
        assert e["rss"] > 50 << 20 and e["proc_cpu_percent"] > 0 and e["disk_free"] > 0, e
        before = evs[evs.index(e) - 1]
        assert before["kind"] in ("metrics", "guard") and before["step"] == e["step"]

    app = CockpitApp(LiveSource(run_dir), run_dir=run_dir, theme="cockpit-dark")
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pick(pilot, "m-entropy", "rss")
        panel = app.screen._panels["rss"]
        assert panel.display and list(panel.steps) == [1, 2, 4, 6]
        assert re.match(r"rss  \d+\.\d\dG", str(panel.render())), str(panel.render())
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, TextModal)
        shown = plain(app.screen.text)
        assert os.uname().nodename in shown and "trainer process RSS" in shown and "torch" in shown, shown


def test_a_bad_interval_is_refused_before_the_trainer_starts(tmp_path, monkeypatch):
    monkeypatch.setenv(EVERY_ENV, "soon")
    r = cockpit("run", str(demo_yaml(tmp_path)), "--headless", "--runs-dir", str(tmp_path / "runs"), timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{EVERY_ENV}: 'soon' is not a number of seconds >= 0" in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no run directory made
    r = cockpit("run", "--runs-dir", str(tmp_path / "runs"), "--", "true")  # a user's command: the same
    assert r.returncode == 2 and f"{EVERY_ENV}: 'soon'" in r.stderr and not (tmp_path / "runs").exists()
