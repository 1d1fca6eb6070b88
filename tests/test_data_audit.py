"""SOP step 0: the audit's numbers, the SOP's starting point, the chat-template check, and the CLI.

Tokenizers are built here with `tokenizers` + `PreTrainedTokenizerFast` (no downloads)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.cli import main as cli
from cockpit.config import RunConfig
from cockpit.data.audit import audit
from cockpit.data.starting_point import config_patch, recommend, size_bucket
from cockpit.data.style import family, style_of
from cockpit.data.template_check import check_template, first_difference, measure
from cockpit.data.templating import near_duplicate_ratio, shared_prefix

FIX = Path(__file__).parent / "fixtures" / "data"

_BASE = None


def tiny_tokenizer(template: str | None):
    """A byte-level BPE tokenizer trained on a few words, with `template` as its chat template."""
    global _BASE
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if _BASE is None:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(
            ["hello world answer question the quick brown fox rivers mountains"] * 10,
            trainers.BpeTrainer(
                vocab_size=400,
                special_tokens=["<unk>", "</s>", "<|user|>", "<|assistant|>", "<|system|>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            ),
        )
        _BASE = tok.to_str()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_BASE), eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )
    fast.chat_template = template
    return fast


GOOD = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# Inference adds a space after the marker that training never has: the classic silent mismatch.
SPACE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
# The generation prompt is forgotten: inference ends before the assistant marker, so the marker the
# training text has before the answer falls into the loss.
NO_GEN = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
ROW = {"prompt": [{"role": "user", "content": "hello"}], "completion": [{"role": "assistant", "content": "world"}]}


def write(tmp_path, rows, name="d.jsonl"):
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def cfg_for(path, **sections) -> RunConfig:
    data = {"path": str(path), **sections.pop("data", {})}
    return RunConfig.model_validate({"data": data, **sections})


# --------------------------------------------------------------------------------------------------
# The chat-template check


def test_template_match_and_masking():
    r = check_template(tiny_tokenizer(GOOD), ROW)
    assert r["prompt_match"] and r["masked_ok"] and r["diff"] == ""
    assert 0 < r["loss_tokens"] < r["total_tokens"] and r["loss_text"].startswith("world")
    assert r["mismatch_rows"] == r["loss_before_answer_rows"] == r["zero_loss_rows"] == 0


def test_template_mismatch_is_shown_as_a_unified_diff():
    r = check_template(tiny_tokenizer(SPACE), ROW)
    assert not r["prompt_match"] and r["mismatch_rows"] == 1
    assert r["diff"].startswith("--- training (prompt part)\n+++ inference (add_generation_prompt=True)")
    assert "-'<|assistant|>'" in r["diff"] and "+'<|assistant|> '" in r["diff"]
    assert "first difference at byte" in r["first_difference"]
    assert r["problems"] and "differs from the inference prompt" in r["problems"][0]


def test_missing_generation_prompt_puts_the_marker_into_the_loss():
    r = check_template(tiny_tokenizer(NO_GEN), ROW)
    assert not r["prompt_match"] and r["loss_before_answer_rows"] == 1 and not r["masked_ok"]
    assert r["loss_text"].startswith("<|assistant|>")


def test_loss_on_prompt_when_assistant_only_loss_is_off():
    r = check_template(tiny_tokenizer(GOOD), ROW, completion_only_loss=False)
    assert r["loss_share"] == 1.0 and not r["masked_ok"] and r["loss_tokens"] == r["total_tokens"]


def test_zero_loss_tokens_when_the_prompt_fills_max_length():
    row = {"prompt": [{"role": "user", "content": "hello world " * 20}], "completion": ROW["completion"]}
    r = check_template(tiny_tokenizer(GOOD), row, max_length=8)
    assert r["zero_loss_rows"] == 1 and r["loss_tokens"] == 0 and not r["masked_ok"]


def test_first_difference():
    assert first_difference("abc", "abc") == ""
    assert "byte 2" in first_difference("abX", "abY")


def test_measure_text_rows_counts_eos():
    m = measure(tiny_tokenizer(None), [{"text": "hello world"}], max_length=100)
    assert not m.check.applicable and m.total[0] >= 2 and m.check.loss_share == 1.0


# --------------------------------------------------------------------------------------------------
# The audit's numbers


def test_templated_small_data_gets_the_sops_low_lr(tmp_path):
    rows = [{"instruction": f"q{i}", "output": "The answer is yes, of course it is."} for i in range(100)]
    cfg = cfg_for(write(tmp_path, rows), training={"max_length": 10})
    rep = audit(cfg, tokenizer=tiny_tokenizer(GOOD))
    assert rep.size_bucket == "<5k" and rep.templated and rep.duplicate_ratio == 0.99
    assert rep.recommended["learning_rate"] == 5e-5 and rep.recommended["lora_dropout"] == 0.1
    assert rep.config_patch["training.learning_rate"] == 5e-5 and "lora.r" not in rep.config_patch
    assert any(f.code == "templated_small" and "collapse to 0" in f.message for f in rep.findings)
    assert rep.tokens["truncated_share"] > 0.5 and any(f.code == "truncation" for f in rep.findings)
    assert rep.template["prompt_match"] and rep.worst == "warn" and rep.exit_code == 1
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["findings"][0]["severity"] == "warn" and d["tokens"]["sampled_rows"] == 100


def test_near_duplicates_and_shared_prefix(tmp_path):
    base = (
        "Sure! Here is the summary you asked for: the report covers the quarter, the sales grew, "
        "the costs fell and the team is happy with the outcome of the work"
    )
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    rows = [{"instruction": f"q{i}", "output": base.replace("team", words[i % 5] + str(i))} for i in range(50)]
    rep = audit(cfg_for(write(tmp_path, rows)), tokenizer=tiny_tokenizer(GOOD))
    assert rep.duplicate_ratio == 0.0 and rep.near_duplicate_ratio > 0.8 and rep.shared_prefix_ratio == 1.0
    assert rep.top_prefix == "sure here is" and rep.templated


def test_near_duplicate_ratio_of_varied_text_is_low():
    import random

    rnd = random.Random(0)
    vocab = ["".join(rnd.choices("abcdefghij", k=6)) for _ in range(500)]
    texts = [" ".join(rnd.choices(vocab, k=12)) for _ in range(300)]
    assert near_duplicate_ratio(texts) < 0.02
    assert near_duplicate_ratio(["one two three four"] * 4) == 0.75
    assert shared_prefix(["Yes it is", "yes, it is not", "No"]) == (2 / 3, "yes it is")


@pytest.mark.parametrize(
    "text,fam",
    [
        ("```py\nx = 1\n```", "code"),
        ('{"a": 1}', "json"),
        ("- a\n- b", "list"),
        ("1. a\n2. b", "list"),
        ("p one\n\np two", "paragraphs"),
        ("a\nb", "lines"),
        ("Paris", "phrase"),
        ("This is a longer single line answer.", "sentences"),
    ],
)
def test_style_families(text, fam):
    assert family(text) == fam


def test_style_one_vs_mixed():
    one = style_of(["Paris", "Rome", "Oslo"], [2, 2, 3])
    assert one["top_family"] == "phrase" and one["top_family_share"] == 1.0 and one["length_cv"] < 0.5
    mixed = style_of(["Paris", "- a\n- b", '{"a": 1}', "It is a long sentence, really long."])
    assert mixed["top_family_share"] == 0.25 and mixed["length_unit"] == "words"


@pytest.mark.parametrize("n,bucket", [(10, "<5k"), (4999, "<5k"), (5000, "5-50k"), (50_000, "5-50k"), (50_001, ">50k")])
def test_size_buckets(n, bucket):
    assert size_bucket(n) == bucket


@pytest.mark.parametrize(
    "bucket,templated,reasoning,lr,dropout,r",
    [
        ("<5k", True, "none", 5e-5, 0.1, 8),
        ("<5k", False, "light", 1e-4, 0.1, 8),
        ("5-50k", True, "none", 1e-4, 0.1, 8),
        ("5-50k", False, "none", 1e-4, 0.05, 8),
        (">50k", True, "none", 1e-4, 0.05, 8),
        (">50k", False, "heavy", 2e-4, 0.05, 16),
    ],
)
def test_recommend(bucket, templated, reasoning, lr, dropout, r):
    rec, _ = recommend(bucket, templated, reasoning)
    assert (rec["learning_rate"], rec["lora_dropout"], rec["r"], rec["lora_alpha"]) == (lr, dropout, r, 2 * r)
    assert rec["target_modules"] == ["q_proj", "v_proj"]


def test_config_patch_only_lists_differences():
    cfg = RunConfig.model_validate({"training": {"learning_rate": 1e-4}, "lora": {"lora_dropout": 0.1}})
    rec, _ = recommend("<5k", False, "none")
    assert config_patch(cfg, rec) == {}
    rec, _ = recommend(">50k", False, "heavy")
    assert config_patch(cfg, rec) == {
        "training.learning_rate": 2e-4,
        "lora.lora_dropout": 0.05,
        "lora.r": 16,
        "lora.lora_alpha": 32,
    }


def test_audit_danger_findings(tmp_path):
    p = write(tmp_path, [{"instruction": "hello", "output": f"world {i}"} for i in range(5)])
    rep = audit(cfg_for(p), tokenizer=tiny_tokenizer(SPACE))
    assert rep.worst == "danger" and rep.exit_code == 2 and rep.findings[0].code == "template_mismatch"
    rep = audit(cfg_for(p), tokenizer=tiny_tokenizer(None))
    assert [f.code for f in rep.findings if f.severity == "danger"] == ["no_chat_template"]
    rep = audit(
        cfg_for(
            write(tmp_path, [{"instruction": "hello world " * 20, "output": "x"}] * 3, "long.jsonl"),
            training={"max_length": 8},
        ),
        tokenizer=tiny_tokenizer(GOOD),
    )
    codes = {f.code for f in rep.findings}
    assert {"no_loss", "dropped", "truncation"} <= codes and rep.tokens["dropped"] == 3


def test_audit_text_rows(tmp_path):
    rep = audit(cfg_for(FIX / "text_good.jsonl"), tokenizer=tiny_tokenizer(None))
    assert rep.format == "text" and rep.template["applicable"] is False and rep.tokens["mean"] > 5
    assert not any(f.severity == "danger" for f in rep.findings)


def test_audit_messages_and_skip_bad(tmp_path):
    rep = audit(cfg_for(FIX / "messages_good.jsonl"), tokenizer=tiny_tokenizer(GOOD))
    assert rep.format == "messages" and rep.rows == 21 and rep.template["masked_ok"]
    rep = audit(cfg_for(FIX / "malformed.jsonl"), skip_bad=True, tokenizer=tiny_tokenizer(GOOD))
    assert rep.rows == 2 and rep.skipped_rows == 3 and rep.bad_rows[0].endswith("malformed.jsonl:2: missing 'output'")
    assert any(f.code == "skipped" for f in rep.findings)


def test_audit_without_a_tokenizer_still_answers(tmp_path):
    cfg = cfg_for(FIX / "alpaca_good.jsonl", model={"name_or_path": str(tmp_path / "no-such-model")})
    rep = audit(cfg)
    assert rep.tokens == {} and rep.template == {} and rep.findings[0].code in {"no_tokenizer", "small"}
    assert any(f.code == "no_tokenizer" for f in rep.findings) and rep.rows == 60


def test_audit_10k_rows_is_fast(tmp_path):
    import random

    rnd = random.Random(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau".split()
    rows = [
        {"instruction": " ".join(rnd.choices(words, k=8)), "output": " ".join(rnd.choices(words, k=30))}
        for _ in range(10_000)
    ]
    cfg = cfg_for(write(tmp_path, rows))
    tok = tiny_tokenizer(GOOD)
    t = time.perf_counter()
    rep = audit(cfg, tokenizer=tok)
    assert rep.tokens["sampled_rows"] == 10_000 and not rep.templated and rep.near_duplicate_ratio < 0.01
    assert time.perf_counter() - t < 30  # ~2-3 s on an idle core; generous for a shared CI box


# --------------------------------------------------------------------------------------------------
# The CLI


@pytest.fixture
def tok_dir(tmp_path):
    def make(template=GOOD):
        d = tmp_path / f"tok-{abs(hash(template))}"
        tiny_tokenizer(template).save_pretrained(str(d))
        return d

    return make


def config_file(tmp_path, data, model, **extra) -> str:
    p = tmp_path / "run.yaml"
    body = {"model": {"name_or_path": str(model)}, "data": {"path": str(data)}, **extra}
    p.write_text(json.dumps(body))  # JSON is YAML
    return str(p)


def run_cli(*args):
    return CliRunner().invoke(cli, ["check-data", *args], catch_exceptions=False)


def test_cli_good_file_prints_the_table(tmp_path, tok_dir):
    r = run_cli(config_file(tmp_path, FIX / "alpaca_good.jsonl", tok_dir()))
    assert r.exit_code == 1, r.output  # <5k rows always warns (SOP: small data)
    for needle in (
        " 1 size        <5k",
        " 2 templated",
        " 3 tokens",
        " 4 one style",
        " 5 reasoning   none",
        "chat template  prompt training == inference",
        "SOP start  learning_rate",
        "step 0: usable",
    ):
        assert needle in r.stdout, (needle, r.stdout)


def test_cli_json(tmp_path, tok_dir):
    r = run_cli(config_file(tmp_path, FIX / "messages_good.jsonl", tok_dir()), "--json")
    d = json.loads(r.stdout)
    assert d["rows"] == 21 and d["format"] == "messages" and d["template"]["prompt_match"] is True
    assert set(d["recommended"]) == {"learning_rate", "lora_dropout", "r", "lora_alpha", "target_modules"}
    assert r.exit_code == {"ok": 0, "warn": 1, "danger": 2}[d["worst"]]


def test_cli_refuses_malformed_rows_and_skip_bad_drops_them(tmp_path, tok_dir):
    cfg = config_file(tmp_path, FIX / "malformed.jsonl", tok_dir())
    r = run_cli(cfg)
    assert r.exit_code == 2
    assert "3 malformed rows" in r.stderr and "malformed.jsonl:2: missing 'output'" in r.stderr
    assert "malformed.jsonl:3: not valid JSON" in r.stderr
    assert "malformed.jsonl:4: 'output' must be a string" in r.stderr
    r = run_cli(cfg, "--skip-bad", "--json")
    d = json.loads(r.stdout)
    assert r.exit_code == 1 and d["rows"] == 2 and d["skipped_rows"] == 3 and len(d["bad_rows"]) == 3
    r = run_cli(cfg, "--set", "data.skip_bad=true")
    assert r.exit_code == 1 and "3 malformed row(s) skipped" in r.stdout


def test_cli_mixed_formats_and_empty_file(tmp_path, tok_dir):
    r = run_cli(config_file(tmp_path, FIX / "mixed.jsonl", tok_dir()))
    assert r.exit_code == 2 and "mixed.jsonl:2: mixed formats: this row is messages, the file is alpaca" in r.stderr
    assert "mixed.jsonl:3: mixed formats: this row is text" in r.stderr
    r = run_cli(config_file(tmp_path, FIX / "empty.jsonl", tok_dir()))
    assert r.exit_code == 2 and "no usable rows (the file is empty)" in r.stderr
    r = run_cli(config_file(tmp_path, FIX / "empty.jsonl", tok_dir()), "--json")
    assert r.exit_code == 2 and "empty" in json.loads(r.stdout)["error"]


def test_cli_template_mismatch_shows_the_diff_and_exits_2(tmp_path, tok_dir):
    r = run_cli(config_file(tmp_path, FIX / "alpaca_good.jsonl", tok_dir(SPACE)))
    assert r.exit_code == 2, r.output
    assert "DIFFERS in 60 of 60 rows" in r.stdout and "+++ inference (add_generation_prompt=True)" in r.stdout
    assert "+'<|assistant|> '" in r.stdout and "✖ danger" in r.stdout and "do not train as configured" in r.stdout


def test_cli_chat_template_override_from_config(tmp_path, tok_dir):
    tpl = tmp_path / "good.jinja"
    tpl.write_text(GOOD)
    r = run_cli(
        config_file(
            tmp_path,
            FIX / "alpaca_good.jsonl",
            tok_dir(SPACE),
        ),
        "--set",
        f"data.chat_template={tpl}",
        "--json",
    )
    assert json.loads(r.stdout)["template"]["prompt_match"] is True


def test_demo_data_audit():
    from cockpit.config import load_config
    from cockpit.demo import demo_config_path

    rep = audit(load_config(demo_config_path()))
    assert rep.rows == 600 and rep.template["prompt_match"] and rep.template["masked_ok"]
    assert rep.tokens["mean"] > 5 and rep.worst != "danger"


# A template that refuses system messages (as some real ones do) with raise_exception.
STRICT = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_template_that_raises_is_a_danger_finding(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "world"}]},
        {
            "messages": [
                {"role": "system", "content": "x"},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "world"},
            ]
        },
    ]
    rep = audit(cfg_for(write(tmp_path, rows)), tokenizer=tiny_tokenizer(STRICT))
    assert rep.template["render_errors"] == 1 and rep.findings[0].code == "template_error"
    assert "row 2" in rep.findings[0].message and "System role not supported" in rep.findings[0].message
    rep = audit(cfg_for(write(tmp_path, rows[1:], "sys.jsonl")), tokenizer=tiny_tokenizer(STRICT))
    assert rep.tokens == {} and rep.worst == "danger" and "every row" in rep.findings[0].message


@pytest.mark.parametrize("template", [GOOD, SPACE, NO_GEN], ids=["good", "space", "no_gen"])
def test_loss_token_counts_agree_with_trl(tmp_path, template):
    """The check's loss/total token counts are TRL's own (SFTTrainer's prepared labels)."""
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    tok = tiny_tokenizer(template)
    rows = [json.loads(x)["messages"] for x in (FIX / "messages_good.jsonl").read_text().splitlines()]
    rows = [{"prompt": m[:-1], "completion": m[-1:]} for m in rows]
    rows.append({"prompt": [{"role": "user", "content": "hello world " * 40}], "completion": ROW["completion"]})
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tok),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
        )
    )
    args = SFTConfig(
        output_dir=str(tmp_path / "out"),
        max_length=40,
        completion_only_loss=True,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    ds = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok).train_dataset
    chk = measure(tok, rows, max_length=40).check
    assert chk.loss_tokens == sum(sum(1 for x in lab if x != -100) for lab in ds["labels"])
    assert chk.total_tokens == sum(len(x) for x in ds["input_ids"])
    assert len(rows) - chk.zero_loss_rows == len(ds)
