"""Data loading: formats, malformed rows reported by file and line, --skip-bad, empty files."""

import json

import pytest

from cockpit.config import DataConfig
from cockpit.data.load import DataError, load_training_data


def write(tmp_path, lines, name="d.jsonl"):
    p = tmp_path / name
    p.write_text("".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines))
    return str(p)


def test_alpaca_rows_become_prompt_completion(tmp_path):
    p = write(tmp_path, [{"instruction": "Add.", "input": "1 2", "output": "3"}, {"prompt": "Hi", "response": "Hello"}])
    d = load_training_data(DataConfig(path=p, system_prompt="Be brief."))
    assert d.format == "alpaca" and len(d.rows) == 2
    assert d.rows[0]["prompt"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Add.\n1 2"}]
    assert d.rows[0]["completion"] == [{"role": "assistant", "content": "3"}]


def test_messages_prompt_is_everything_before_the_last_answer(tmp_path):
    conv = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                         {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
    d = load_training_data(DataConfig(path=write(tmp_path, [conv])))
    assert d.format == "messages" and len(d.rows[0]["prompt"]) == 3 and d.rows[0]["completion"][0]["content"] == "d"


@pytest.mark.parametrize("bad,msg", [
    ("{not json", "not valid JSON"),
    ({"instruction": "x"}, "missing 'output'"),
    ({"instruction": "x", "output": 3}, "'output' must be a string"),
    ({"instruction": "x", "output": "  "}, "'output' is empty"),
    ({"messages": [{"role": "user", "content": "x"}]}, "mixed formats"),
    ([1, 2], "expected a JSON object"),
])
def test_malformed_row_named_by_file_and_line(tmp_path, bad, msg):
    p = write(tmp_path, [{"instruction": "ok", "output": "ok"}, bad, {"instruction": "ok2", "output": "ok2"}])
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=p))
    assert f"{p}:2: " in str(e.value) and msg in str(e.value)
    d = load_training_data(DataConfig(path=p), skip_bad=True)
    assert len(d.rows) == 2 and d.skipped == 1 and d.bad[0].line == 2


def test_messages_errors(tmp_path):
    rows = [{"messages": [{"role": "user", "content": "x"}]},
            {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]}]
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=write(tmp_path, rows)))
    assert ":1: no assistant message" in str(e.value) and ":2: messages[0].role is 'wizard'" in str(e.value)


def test_empty_and_blank_files(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_training_data(DataConfig(path=str(p)))
    p.write_text("\n\n")
    with pytest.raises(DataError, match="empty"):
        load_training_data(DataConfig(path=str(p)))


def test_binary_file_is_refused_clearly(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b"\xff\xfe\x00\x01garbage\n")
    with pytest.raises(DataError, match="not UTF-8|not valid JSON"):
        load_training_data(DataConfig(path=str(p)))


def test_eval_ratio_split_is_deterministic(tmp_path):
    p = write(tmp_path, [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(100)])
    a = load_training_data(DataConfig(path=p, eval_ratio=0.1))
    b = load_training_data(DataConfig(path=p, eval_ratio=0.1))
    assert len(a.eval_rows) == 10 and len(a.rows) == 90 and a.eval_rows == b.eval_rows


def test_parquet_and_saved_dataset(tmp_path):
    from datasets import Dataset

    ds = Dataset.from_list([{"instruction": "q", "input": "", "output": "a"}] * 3)
    ds.to_parquet(str(tmp_path / "d.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    assert len(load_training_data(DataConfig(path=str(tmp_path / "d.parquet"))).rows) == 3
    assert len(load_training_data(DataConfig(path=str(tmp_path / "saved"))).rows) == 3


def test_demo_data_loads():
    d = load_training_data(DataConfig(path="demo:instructions"))
    assert d.format == "alpaca" and len(d.rows) >= 300 and not d.bad
