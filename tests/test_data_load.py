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
    conv = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"},
        ]
    }
    d = load_training_data(DataConfig(path=write(tmp_path, [conv])))
    assert d.format == "messages" and len(d.rows[0]["prompt"]) == 3 and d.rows[0]["completion"][0]["content"] == "d"


@pytest.mark.parametrize(
    "bad,msg",
    [
        ("{not json", "not valid JSON"),
        ({"instruction": "x"}, "missing 'output'"),
        ({"instruction": "x", "output": 3}, "'output' must be a string"),
        ({"instruction": "x", "output": "  "}, "'output' is empty"),
        ({"messages": [{"role": "user", "content": "x"}]}, "mixed formats"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_malformed_row_named_by_file_and_line(tmp_path, bad, msg):
    p = write(tmp_path, [{"instruction": "ok", "output": "ok"}, bad, {"instruction": "ok2", "output": "ok2"}])
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=p))
    assert f"{p}:2: " in str(e.value) and msg in str(e.value)
    d = load_training_data(DataConfig(path=p), skip_bad=True)
    assert len(d.rows) == 2 and d.skipped == 1 and d.bad[0].line == 2


def test_messages_errors(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "x"}]},
        {"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]},
    ]
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


def test_trl_prompt_completion_rows_are_accepted(tmp_path):
    conv = {"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}]}
    d = load_training_data(DataConfig(path=write(tmp_path, [conv, conv])))
    assert d.format == "messages" and d.rows[0] == conv
    d = load_training_data(
        DataConfig(
            path=write(tmp_path, [{"prompt": "q", "completion": "a"}, {"question": "q2", "answer": "a2"}], "s.jsonl")
        )
    )
    assert d.format == "alpaca" and [r["completion"][0]["content"] for r in d.rows] == ["a", "a2"]


def test_text_rows_stay_text(tmp_path):
    d = load_training_data(DataConfig(path=write(tmp_path, [{"text": "one"}, {"text": "two"}])))
    assert d.format == "text" and d.rows == [{"text": "one"}, {"text": "two"}]
    p = write(tmp_path, [{"text": "one"}, {"instruction": "q", "output": "a"}, {"text": ""}], "m.jsonl")
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=p))
    assert f"{p}:2: mixed formats: this row is alpaca, the file is text (from line 1)" in str(e.value)
    assert f"{p}:3: missing 'text'" in str(e.value) or f"{p}:3: 'text' is empty" in str(e.value)


def test_configured_format_mismatch_names_the_setting(tmp_path):
    p = write(tmp_path, [{"instruction": "q", "output": "a"}])
    with pytest.raises(DataError, match=r":1: mixed formats: this row is alpaca, but data.format is messages"):
        load_training_data(DataConfig(path=p, format="messages"))


def test_at_most_five_problems_are_listed_with_the_count(tmp_path):
    p = write(tmp_path, [{"instruction": "ok", "output": "ok"}] + ["nope"] * 8)
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=p))
    msg = str(e.value)
    assert msg.startswith("8 malformed rows in") and msg.count(": not valid JSON") == 5 and "and 3 more" in msg
    assert len(e.value.problems) == 8 and e.value.problems[0].line == 2


def test_all_rows_bad_with_skip_bad_is_still_an_error(tmp_path):
    p = write(tmp_path, ["nope", {"instruction": "x"}])
    with pytest.raises(DataError, match="no usable rows .2 malformed"):
        load_training_data(DataConfig(path=p, skip_bad=True))
    assert (
        load_training_data(
            DataConfig(path=write(tmp_path, ["x", {"output": "a", "instruction": "b"}], "o.jsonl"), skip_bad=True)
        ).skipped
        == 1
    )


def test_first_row_not_an_object_or_unknown_keys(tmp_path):
    p = write(tmp_path, ["[1, 2]", {"foo": 1}, {"instruction": "q", "output": "a"}])
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=p))
    assert ":1: expected a JSON object, got an array" in str(e.value)
    assert ":2: unrecognised row (keys: foo)" in str(e.value)


def test_two_objects_on_one_line_are_refused(tmp_path):
    p = tmp_path / "two.jsonl"
    p.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": "b"} {"x": 1}\n')
    with pytest.raises(DataError, match=r"two.jsonl:2: not valid JSON \(Extra data"):
        load_training_data(DataConfig(path=str(p)))


def test_line_numbers_count_blank_lines_and_crlf(tmp_path):
    p = tmp_path / "crlf.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"instruction": "a", "output": "b"}\r\n\r\n{"instruction": "a"}\r\n')
    with pytest.raises(DataError, match=r"crlf.jsonl:3: missing 'output'"):
        load_training_data(DataConfig(path=str(p)))


def test_messages_content_and_shape_errors(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 5}]},
        {"messages": []},
        {"messages": [{"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]},
        {"messages": [{"role": "user", "content": "q", "name": "x"}, {"role": "assistant", "content": "a"}]},
    ]
    with pytest.raises(DataError) as e:
        load_training_data(DataConfig(path=write(tmp_path, rows)))
    msg = str(e.value)
    assert ":1: messages[1].content must be a string, got int" in msg and ":2: 'messages' must be a non-empty" in msg
    assert ":3: the assistant message has no prompt" in msg
    assert ":4: messages[1] (the assistant's answer) is empty" in msg
    d = load_training_data(DataConfig(path=write(tmp_path, rows)), skip_bad=True)
    assert d.skipped == 4 and d.rows[0]["prompt"] == [{"role": "user", "content": "q"}]  # extra keys dropped


def test_eval_path_and_its_problems(tmp_path):
    train = write(tmp_path, [{"instruction": "q", "output": "a"}] * 3)
    ev = write(tmp_path, [{"instruction": "q", "output": "a"}, {"instruction": "q"}], "eval.jsonl")
    with pytest.raises(DataError, match="eval.jsonl:2: missing 'output'"):
        load_training_data(DataConfig(path=train, eval_path=ev))
    d = load_training_data(DataConfig(path=train, eval_path=ev), skip_bad=True)
    assert len(d.rows) == 3 and len(d.eval_rows) == 1 and d.skipped == 1 and d.eval_source == ev


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_training_data(DataConfig(path=str(tmp_path / "nope.jsonl")))


def test_parquet_nulls_and_json_array(tmp_path):
    from datasets import Dataset

    Dataset.from_list(
        [{"instruction": "q", "input": None, "output": "a"}, {"instruction": "q", "input": "i", "output": None}]
    ).to_parquet(str(tmp_path / "n.parquet"))
    with pytest.raises(DataError, match=r"n.parquet:2: missing 'output'"):
        load_training_data(DataConfig(path=str(tmp_path / "n.parquet")))
    (tmp_path / "a.json").write_text(json.dumps([{"instruction": "q", "output": "a"}, {"text": "t"}]))
    with pytest.raises(DataError, match=r"a.json:2: mixed formats"):
        load_training_data(DataConfig(path=str(tmp_path / "a.json")))


def test_saved_datasetdict_uses_train_split(tmp_path):
    from datasets import Dataset, DatasetDict

    DatasetDict(
        {
            "test": Dataset.from_list([{"text": "x"}]),
            "train": Dataset.from_list(
                [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}] * 2
            ),
        }
    ).save_to_disk(str(tmp_path / "dd"))
    d = load_training_data(DataConfig(path=str(tmp_path / "dd")))
    assert d.format == "messages" and len(d.rows) == 2


def test_unreadable_folder_is_a_data_error(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="cannot read as a datasets folder"):
        load_training_data(DataConfig(path=str(tmp_path / "folder")))


def test_100k_rows_load_fast(tmp_path):
    import time

    p = tmp_path / "big.jsonl"
    line = json.dumps({"instruction": "Question about a thing?", "input": "", "output": "An answer of some length."})
    p.write_text((line + "\n") * 100_000)
    t = time.perf_counter()
    d = load_training_data(DataConfig(path=str(p), eval_ratio=0.01))
    assert len(d.rows) == 99_000 and len(d.eval_rows) == 1000
    assert time.perf_counter() - t < 15  # ~1 s on an idle core; generous for shared CI
