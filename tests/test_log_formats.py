"""Other tools' logs (LLaMA-Factory's trainer_log.jsonl, a Trainer's saved console) read as our history:
`cockpit diagnose FILE --json` on real public files against numbers the test computes from the file
itself, and what is not a log refused (exit 2) with what it holds and the formats known."""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.advisor.diagnose import main as diagnose
from cockpit.logs import LogError, load_history, resolve
from cockpit.logs.formats import known

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "formats"
sys.path.insert(0, str(ROOT))
from bench import gen_formats  # noqa: E402

LLAMAFACTORY = sorted(FIX.glob("lf_*.jsonl"))


def diagnose_json(path: Path, capsys) -> tuple[int, dict]:
    code = diagnose(str(path), as_json=True)
    return code, json.loads(capsys.readouterr().out)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cockpit.cli", *args], capture_output=True, text=True, cwd=ROOT)


def lf_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("path", LLAMAFACTORY, ids=lambda p: p.name)
def test_llamafactory_real_logs_give_the_steps_and_metrics_the_file_holds(path, capsys):
    rows = lf_rows(path)
    train = {}  # step -> the last line logged for it (a step logged twice: the later value stands)
    for r in rows:
        if r.get("loss") is not None:
            train[r["current_steps"]] = r
    evals = [r for r in rows if r.get("eval_loss") is not None]
    code, d = diagnose_json(path, capsys)
    assert code in (0, 3)
    assert d["format"] == "llamafactory" and d["not_in_format"] == ["grad_norm"]
    assert d["logged"] == len(train) and d["steps"] == max(train)
    h, log = load_history(path)
    assert list(h.steps) == sorted(train)
    assert [round(v, 6) for v in h.series["loss"]] == [round(train[s]["loss"], 6) for s in sorted(train)]
    lrs = [train[s].get("lr", train[s].get("learning_rate")) for s in sorted(train)]
    assert [round(v, 15) for v in h.series["learning_rate"]] == [round(x, 15) for x in lrs]
    assert list(h.eval_steps) == [r["current_steps"] for r in evals]
    assert list(h.eval_series.get("eval_loss", [])) == [r["eval_loss"] for r in evals]
    assert h.total_steps == rows[0]["total_steps"]
    assert all(math.isnan(v) for v in h.series["grad_norm"])  # none made up


def test_llamafactory_elapsed_time_becomes_step_time(capsys):
    rows = [r for r in lf_rows(FIX / "lf_qwen25-medical-eval.jsonl") if r.get("loss") is not None]
    h, _ = load_history(FIX / "lf_qwen25-medical-eval.jsonl")

    def sec(t: str) -> int:
        hh, mm, ss = (int(x) for x in t.split(":"))
        return hh * 3600 + mm * 60 + ss

    a, b = rows[5], rows[6]  # two consecutive training lines: 10 steps apart
    want = (sec(b["elapsed_time"]) - sec(a["elapsed_time"])) / (b["current_steps"] - a["current_steps"])
    assert h.series["step_time"][6] == pytest.approx(want)


def test_the_interleaved_real_log_is_read_in_step_order_and_says_so(capsys):
    # Two writers put every step in twice and jump back from 5,240 to 5,010: folded in file order only
    # what follows the last step-back survived. Read in step order, every step is there once.
    code, d = diagnose_json(FIX / "lf_sft-interleaved-two-writers.jsonl", capsys)
    steps = {r["current_steps"] for r in lf_rows(FIX / "lf_sft-interleaved-two-writers.jsonl") if r.get("loss")}
    assert d["logged"] == len(steps) == 656
    assert any("read in step order" in n for n in d["notes"])


def test_console_real_log_through_logging(capsys):
    path = FIX / "console_lora-alpaca-logging.log"
    text = path.read_text()
    logs = [ast.literal_eval(m) for m in re.findall(r"\{'loss': [^}]*\}", text)]
    every = int(re.search(r"logging_steps: (\d+)", text).group(1))
    code, d = diagnose_json(path, capsys)
    assert d["format"] == "console"
    assert d["logged"] == len(logs) == 121 and d["steps"] == len(logs) * every == 1210
    assert d["state"] == "finished"  # the closing {'train_runtime': ...}
    assert any("1 printed dict" in n for n in d["notes"])  # fsdp_config: {...}, not a training log
    assert any("logging_steps (10)" in n for n in d["notes"])
    h, _ = load_history(path)
    assert list(h.series["loss"]) == [x["loss"] for x in logs]
    assert list(h.series["learning_rate"]) == [x["learning_rate"] for x in logs]


def test_console_with_bars_and_quoted_values(tmp_path, capsys):
    """Newer transformers print values as strings, each log after the progress bar's count."""
    path = gen_formats.console(1200, tmp_path / "train.log")
    text = path.read_text()
    logs = re.findall(r"\| (\d+)/1200 \[[^\]]*\](\{'loss'[^}]*\})", text)
    code, d = diagnose_json(path, capsys)
    assert d["logged"] == len(logs) == 1200 and d["steps"] == 1200 and d["state"] == "finished"
    assert "notes" in d and any("printed dict" in n for n in d["notes"])  # the LoRA config dict
    h, _ = load_history(path)
    assert list(h.steps) == [int(s) for s, _ in logs]
    assert list(h.series["loss"]) == [float(ast.literal_eval(x)["loss"]) for _, x in logs]
    assert list(h.eval_steps) == [500, 1000] and h.total_steps == 1200
    assert all(isinstance(v, float) for v in h.eval_series["eval_loss"])


def test_a_console_whose_first_line_holds_a_carriage_return_and_a_comma(tmp_path, capsys):
    """tqdm redraws its bar after a '\r': a first line holding one and a comma ('20,000') was taken for a
    W&B export's CSV header, and csv refused it with a traceback."""
    p = tmp_path / "train.log"
    p.write_bytes(
        b"***** Running training *****\r  Total optimization steps = 20,000\n"
        b"  0%|#   | 1/20000 [00:10<00:20,  3.21it/s]{'loss': 1.0, 'grad_norm': 0.5, 'epoch': 0.01}\n"
    )
    code, d = diagnose_json(p, capsys)
    assert code == 0 and d["format"] == "console" and d["steps"] == 1


def test_a_console_of_a_resumed_run_takes_the_bar_counts_back(tmp_path):
    """A run resumed from a checkpoint into the same console (`tee -a`): its bar counts again from the
    checkpoint. The logs there are at those steps, superseding the first run's (not counted on from the
    last step with a note that they had no bar)."""
    p = tmp_path / "train.log"
    out = ["***** Running training *****", "  Total optimization steps = 100"]
    out += [f" {s}%|#  | {s}/100 [00:01<00:01]{{'loss': 1.0}}" for s in range(1, 7)]
    out += [f" {s}%|#  | {s}/100 [00:01<00:01]{{'loss': 0.5}}" for s in range(4, 10)]
    p.write_text("\n".join(out) + "\n")
    h, log = load_history(p)
    assert list(h.steps) == list(range(1, 10)) and list(h.series["loss"]) == [1.0] * 3 + [0.5] * 6
    assert not any("no progress bar" in n for n in log.stats.notes)
    assert any("resume" in n for n in log.stats.notes)


def test_console_step_follows_the_training_bar_not_the_eval_bar(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text(
        "Map: 100%|##########| 5000/5000 [00:01<00:00, 4000.00 examples/s]\n"
        " 50%|#####     | 10/20 [00:10<00:10,  1.00it/s]{'loss': 2.0, 'grad_norm': 1.5, 'learning_rate': 1e-4, "
        "'epoch': 0.5}\n"
        "100%|##########| 40/40 [00:02<00:00, 20.0it/s]\n"
        "{'eval_loss': 1.9, 'eval_runtime': 2.0, 'epoch': 0.5}\n"
        "100%|##########| 20/20 [00:20<00:00,  1.00it/s]{'loss': 1.5, 'grad_norm': nan, 'learning_rate': 5e-5, "
        "'epoch': 1.0}\n"
    )
    h, log = load_history(p)
    assert log.kind == "console" and list(h.steps) == [10, 20] and list(h.eval_steps) == [10]
    assert math.isnan(h.series["grad_norm"][1]) and h.nonfinite == {"grad_norm": [20]}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 20, "a binary file"),
        (b"", "an empty file"),
        (b"hello\nworld\n", "text whose first line is 'hello'"),
        (b'{"a": 1}\n{"b": 2}\n', "text whose first line is"),
    ],
    ids=["binary", "empty", "text", "foreign-jsonl"],
)
def test_what_is_no_log_is_refused_with_exit_2(tmp_path, content, said):
    p = tmp_path / "x.jsonl"
    p.write_bytes(content)
    r = cli("diagnose", str(p))
    assert r.returncode == 2 and said in r.stderr and "Known formats:" in r.stderr
    assert "trainer_log.jsonl (LLaMA-Factory)" in r.stderr
    assert r.stdout == ""


def test_a_log_with_no_readable_entry_is_refused_not_an_empty_run(tmp_path):
    p = tmp_path / "trainer_log.jsonl"
    p.write_text('{"current_steps": "ten"}\nnot json\n{"current_steps": -5, "loss": 1}\n')
    with pytest.raises(LogError, match=r"nothing readable.*3 entries is a training log.*line 1.*Known formats"):
        load_history(p)
    r = cli("report", str(p))
    assert r.returncode == 2 and "nothing readable" in r.stderr


def test_an_events_file_of_garbage_is_refused_too(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_text("garbage\nmore garbage\n")
    with pytest.raises(LogError, match="nothing readable"):
        load_history(p)


def test_foreign_lines_are_counted(tmp_path, capsys):
    rows = lf_rows(FIX / "lf_rlhf-reward-accuracy.jsonl")
    p = tmp_path / "trainer_log.jsonl"
    p.write_text("\n".join([json.dumps(rows[0]), "Traceback (most recent call last):", *map(json.dumps, rows[1:])]))
    code, d = diagnose_json(p, capsys)
    assert d["skipped_lines"] == 1 and d["logged"] == 33


def test_a_folder_holding_a_trainer_log_resolves_to_it(tmp_path):
    (tmp_path / "trainer_log.jsonl").write_bytes((FIX / "lf_rlhf-reward-accuracy.jsonl").read_bytes())
    assert resolve(tmp_path).kind == "llamafactory"
    (tmp_path / "trainer_state.json").write_bytes(
        (ROOT / "tests/fixtures/real-logs/02_engram-unsloth-60steps.json").read_bytes()
    )
    assert resolve(tmp_path).kind == "trainer_state"  # LLaMA-Factory writes both at the end: it has grad_norm


def test_known_formats_listed():
    assert "events.jsonl" in known() and "console output" in known()


def test_report_html_compare_and_ls_on_other_formats(tmp_path):
    lf = FIX / "lf_qwen25-medical-eval.jsonl"
    out = tmp_path / "x.html"
    r = cli("report", str(lf), "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert html.count("<svg") >= 2 and "a llamafactory log never has it" in html
    sys.path.insert(0, str(ROOT))
    from bench.gen_log import write

    ours = write(300, tmp_path / "runs" / "ours")
    r = cli("compare", str(lf), str(ours), str(FIX / "console_lora-alpaca-logging.log"))
    assert r.returncode == 0, r.stderr
    assert "lf_qwen25-medical-eval.jsonl" in r.stdout and "ours" in r.stdout
    (tmp_path / "runs" / "lf-run").mkdir()
    (tmp_path / "runs" / "lf-run" / "trainer_log.jsonl").write_bytes(lf.read_bytes())
    (tmp_path / "runs" / "README.md").write_text("not a run\n")
    r = cli("ls", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert set(rows) == {"lf-run", "ours"} and rows["lf-run"][1:3] == ["finished", "6750/6750"]


def test_a_script_printing_a_config_dict_is_no_console_log(tmp_path):
    """{'loss': 'mse'} looks like a Trainer's log to the sniffer; no training log in it: refused."""
    p = tmp_path / "train.py"
    p.write_text("model.compile(**{'loss': 'mse', 'optimizer': 'adam'})\nprint({'loss': 'binary_crossentropy'})\n")
    with pytest.raises(LogError, match=r"nothing readable: it looked like console output.*2 entries is a training"):
        load_history(p)
