"""The built-in demo: model and tokenizer built locally, data valid, config copies identical."""

from pathlib import Path

from cockpit.config import load_config
from cockpit.demo import demo_config_path, demo_data_path, ensure_demo_model

ROOT = Path(__file__).resolve().parents[1]


def test_demo_config_is_the_sample_config_and_validates():
    assert demo_config_path().read_text() == (ROOT / "sample_configs" / "demo-tiny.yaml").read_text()
    cfg = load_config(demo_config_path())
    assert cfg.model.name_or_path == "demo:tiny-llama" and cfg.samples.prompts


def test_demo_model_is_a_llama_with_the_usual_module_names_and_a_chat_template():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = ensure_demo_model()
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= names
    msgs = [{"role": "user", "content": "Reverse the word.\nstorm"}]
    prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(msgs + [{"role": "assistant", "content": "mrots"}], tokenize=False)
    assert full.startswith(prompt) and full.endswith("mrots</s>")
    text = demo_data_path().read_text().splitlines()[0]
    assert tok.decode(tok(text)["input_ids"]) == text


def test_demo_data_rows():
    import json

    rows = [json.loads(x) for x in demo_data_path().read_text().splitlines()]
    assert len(rows) >= 300 and all(r["instruction"] and r["output"] for r in rows)
    assert demo_data_path().stat().st_size < 300_000
