"""SOP step 0: the audit's numbers, the SOP's starting point, and the chat-template check."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cockpit.config import RunConfig
from cockpit.data.audit import audit, recommend
from cockpit.data.template_check import check_template


def tiny_tokenizer(template: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["hello world answer question"] * 10, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "</s>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="</s>")
    fast.chat_template = template
    return fast


GOOD = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")
# Inference adds a space after the marker that training never has: the classic silent mismatch.
BAD = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
       "{% if add_generation_prompt %}<|assistant|> {% endif %}")
ROW = {"prompt": [{"role": "user", "content": "hello"}], "completion": [{"role": "assistant", "content": "world"}]}


def test_template_match_and_masking():
    r = check_template(tiny_tokenizer(GOOD), ROW)
    assert r["prompt_match"] and r["masked_ok"] and 0 < r["loss_tokens"] < r["total_tokens"]


def test_template_mismatch_is_shown_as_a_diff():
    r = check_template(tiny_tokenizer(BAD), ROW)
    assert not r["prompt_match"] and "inference" in r["diff"] and not r["masked_ok"]


def write(tmp_path, rows):
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_audit_numbers_and_sop_starting_point(tmp_path):
    rows = [{"instruction": f"q{i}", "output": "The answer is yes, of course it is."} for i in range(100)]
    cfg = RunConfig.model_validate({"data": {"path": str(write(tmp_path, rows))}, "training": {"max_length": 10}})
    rep = audit(cfg, tokenizer=tiny_tokenizer(GOOD))
    assert rep.size_bucket == "<5k" and rep.templated and rep.duplicate_ratio == 0.99
    assert rep.recommended["learning_rate"] == 5e-5 and rep.recommended["lora_dropout"] == 0.1
    assert any("collapse to 0" in w for w in rep.warnings)
    assert rep.tokens["truncated_share"] > 0.5 and any("truncated" in w for w in rep.warnings)
    assert rep.template["prompt_match"]


@pytest.mark.parametrize("bucket,templated,reasoning,lr,r", [("<5k", True, "none", 5e-5, 8), ("5-50k", False, "none", 1e-4, 8),
                                                              (">50k", False, "heavy", 2e-4, 16)])
def test_recommend(bucket, templated, reasoning, lr, r):
    rec, _ = recommend(bucket, templated, reasoning)
    assert rec["learning_rate"] == lr and rec["r"] == r and rec["lora_alpha"] == 2 * r


def test_check_data_cli_refuses_bad_rows_and_skips_with_flag(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\nnot json\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"model: {{name_or_path: demo:tiny-llama}}\ndata: {{path: {p}}}\n")
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "check-data", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{p}:2: missing 'output'" in r.stderr and f"{p}:3: not valid JSON" in r.stderr
    r = subprocess.run([sys.executable, "-m", "cockpit.cli", "check-data", str(cfg), "--skip-bad", "--json"],
                       capture_output=True, text=True)
    data = json.loads(r.stdout)
    assert data["rows"] == 1 and data["skipped_rows"] == 2


def test_demo_data_audit():
    from cockpit.demo import demo_config_path
    from cockpit.config import load_config

    rep = audit(load_config(demo_config_path()))
    assert rep.rows == 600 and rep.template["prompt_match"] and rep.template["masked_ok"]
    assert rep.tokens["mean"] > 5
