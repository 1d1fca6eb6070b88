"""The demo's tiny Llama and its tokenizer, built locally (no network) and cached.

A random base with LoRA on q,v barely moves, so the base gets a short full-parameter pretraining on
chat conversations of five task families (reverse, add, capitals, count, sort numbers). The packaged
fine-tune data holds five *other* families (capitals letters, opposites, repeat, sort letters, first
and last word): the base knows the format, the LoRA has to learn the tasks.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

VERSION = "v1"
"""Bump when the recipe changes: the cache folder name carries it, so old builds are not reused."""

SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]

# Each turn is `<|role|>content` and a newline; only the answer ends with `</s>`, because the base
# saw `</s>` solely between documents during pretraining (after it, context is forgotten). The assistant
# turn is wrapped in generation markers so TRL can also mask by assistant tokens. `add_generation_prompt`
# ends with `<|assistant|>`, exactly the training-time prefix of the answer (the data audit checks it).
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|>{% generation %}{{ m['content'] }}</s>{% endgeneration %}"
    "{% else %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

SHAPE = dict(
    hidden_size=128,
    intermediate_size=344,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=256,
)
PRETRAIN_STEPS = 400


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lora-cockpit"


def model_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or cache_root()) / f"demo-tiny-llama-{VERSION}"


def ensure_demo_model(cache_dir: Path | None = None, *, log=print) -> Path:
    """The cached demo model folder, built on first use. Safe when two processes build at once: each
    builds into its own temporary folder and the first rename wins."""
    target = model_dir(cache_dir)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.time()
    log(f"building the demo model (first use only) into {target} ...")
    build(tmp)
    try:
        os.rename(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process won the race; use its build
    log(f"demo model ready in {time.time() - t0:.0f}s")
    return target


def build_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build(out: Path) -> None:
    import random

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cockpit.demo.make_data import pretraining_conversations, pretraining_text, rows

    torch.manual_seed(0)
    text = pretraining_text(4000)
    sft = [f"{r['instruction']}\n{r['input']} {r['output']}" for r in rows(600, seed=7)]
    tokenizer = build_tokenizer(text + sft)
    chats = [tokenizer.apply_chat_template(c, tokenize=False) for c in pretraining_conversations(8)]
    corpus = text + chats
    random.Random(0).shuffle(corpus)
    cfg = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **SHAPE,
    )
    model = LlamaForCausalLM(cfg)
    _pretrain(model, tokenizer, corpus)
    out.mkdir(parents=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _pretrain(model, tokenizer, corpus: list[str], steps: int = PRETRAIN_STEPS, batch: int = 24) -> None:
    """Plain causal-LM pretraining on packed text: a few seconds on two CPU cores."""
    import torch

    ids: list[int] = []
    for text in corpus:
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])
    seq = 48
    data = torch.tensor(ids[: (len(ids) // seq) * seq]).view(-1, seq)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, data.shape[0], (batch,), generator=g)
        x = data[idx]
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
