"""Build what the run needs from its config: tokenizer, base model, LoraConfig, datasets, SFTConfig.

Each function takes the config and returns one thing, so a reader can see the whole recipe in
`cockpit.trainer.main.run` top to bottom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cockpit.config import RunConfig


class SetupError(Exception):
    """A run that cannot start on this machine; the message says what to change."""


def resolve_model(cfg: RunConfig) -> str:
    from cockpit.demo import resolve_model_path

    return resolve_model_path(cfg.model.name_or_path)


def device_index() -> int | None:
    """This process's CUDA device (LOCAL_RANK under torchrun), or None on CPU."""
    if not torch.cuda.is_available():
        return None
    import os

    idx = int(os.environ.get("LOCAL_RANK", "0"))
    return idx % torch.cuda.device_count()


def device_label(idx: int | None) -> str:
    if idx is None:
        return "cpu"
    return f"cuda:{idx} ({torch.cuda.get_device_name(idx)})"


def torch_dtype(cfg: RunConfig, idx: int | None) -> torch.dtype:
    name = cfg.model.dtype
    if name == "auto":
        if idx is not None and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_tokenizer(cfg: RunConfig, model_path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path, trust_remote_code=cfg.model.trust_remote_code)
    if cfg.data.chat_template:
        t = cfg.data.chat_template
        tok.chat_template = Path(t).read_text() if Path(t).is_file() else t
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not tok.chat_template and cfg.data.format != "text":
        raise SetupError(
            f"the tokenizer of {cfg.model.name_or_path} has no chat template; set data.chat_template "
            "(a Jinja template or a file) or use data.format: text"
        )
    return tok


def quantization_config(cfg: RunConfig, dtype: torch.dtype):
    q = cfg.model.quantization
    if q == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as e:
        raise SetupError(f"model.quantization: {q} needs bitsandbytes ({e}); pip install bitsandbytes") from None
    if q == "4bit":
        compute = dtype if dtype != torch.float32 or not torch.cuda.is_available() else torch.bfloat16
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=cfg.model.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=cfg.model.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=compute,
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def load_model(cfg: RunConfig, model_path: str, idx: int | None):
    from transformers import AutoModelForCausalLM

    dtype = torch_dtype(cfg, idx)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": cfg.model.trust_remote_code}
    qc = quantization_config(cfg, dtype)
    if qc is not None:
        kwargs["quantization_config"] = qc
        if idx is not None:
            kwargs["device_map"] = {"": idx}
    if cfg.model.attn_implementation:
        kwargs["attn_implementation"] = cfg.model.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    except OSError as e:
        raise SetupError(f"model.name_or_path: cannot load '{cfg.model.name_or_path}': {e}") from None
    if qc is not None and idx is None:
        keep_4bit_trainable_on_cpu(model)
    if qc is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.model.gradient_checkpointing)
    return model


def keep_4bit_trainable_on_cpu(model) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for CPU inference; the number of layers changed.

    On a CPU with AVX512-BF16, a bitsandbytes (0.50) Linear4bit run in eval mode without gradients
    (an eval, a sample) repacks its weight, one way, into an inference layout whose matmul has no
    backward: every later training step then gets zero gradients, silently (grad_norm 0, loss flat).
    Training never wants that layout, so it is switched off on every 4-bit layer."""
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:
        return 0
    n = 0
    for module in model.modules():
        if isinstance(module, Linear4bit) and getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def lora_config(cfg: RunConfig, model=None):
    """The one place a LoraConfig is made (merge and resume read the saved adapter_config.json)."""
    from peft import LoraConfig

    lo = cfg.lora
    targets = lo.target_modules
    if model is not None:
        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        if isinstance(targets, list):
            missing = [t for t in targets if t not in names]
            if missing:
                raise SetupError(
                    f"lora.target_modules: {missing} not found in the model "
                    f"(linear modules here: {sorted(_linear_names(model))})"
                )
        for field in ("rank_pattern", "alpha_pattern"):
            _check_pattern(field, getattr(lo, field), model)
    return LoraConfig(
        r=lo.r,
        lora_alpha=lo.alpha,
        lora_dropout=lo.lora_dropout,
        target_modules=targets,
        bias=lo.bias,
        modules_to_save=lo.modules_to_save,
        use_rslora=lo.use_rslora,
        use_dora=lo.use_dora,
        init_lora_weights=lo.init_lora_weights,
        rank_pattern=dict(lo.rank_pattern),
        alpha_pattern=dict(lo.alpha_pattern),
        task_type="CAUSAL_LM",
    )


def _check_pattern(field: str, pattern: dict, model) -> None:
    """A pattern key that matches no module would be ignored by peft without a word: refuse it."""
    import re

    modules = [n for n, _ in model.named_modules()]
    for key in pattern:
        # peft matches a key against the end of the module's full name, or as a regex over it
        try:
            hit = any(n == key or n.endswith("." + key) or re.fullmatch(f"(.*\\.)?{key}", n) for n in modules)
        except re.error as e:
            raise SetupError(f"lora.{field}: '{key}' is not a module name nor a valid regex ({e})") from None
        if not hit:
            raise SetupError(
                f"lora.{field}: '{key}' matches no module of the model "
                f"(linear modules here: {sorted(_linear_names(model))})"
            )


def loraplus_optimizer(cfg: RunConfig, model, args):
    """peft's LoRA+ optimizer (B matrices at lr x loraplus_lr_ratio), handed to the Trainer before it
    builds its own: Trainer.create_optimizer keeps an optimizer that is already set. Group 0 is A's, at
    the configured lr, so the lr the cockpit shows and changes is the configured one; a live change
    scales every group by the same factor (cockpit.trainer.commands.apply_lr), keeping the ratio."""
    from peft.optimizers import create_loraplus_optimizer
    from transformers import Trainer

    opt_cls, opt_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    opt_kwargs = {k: v for k, v in opt_kwargs.items() if k != "lr"}
    return create_loraplus_optimizer(
        model,
        opt_cls,
        lr=cfg.training.learning_rate,
        loraplus_lr_ratio=float(cfg.lora.loraplus_lr_ratio),
        loraplus_weight_decay=cfg.training.weight_decay,
        **opt_kwargs,
    )


def param_counts(model) -> tuple[int, int]:
    """(trainable, total) parameters. A 4-bit bitsandbytes weight stores two values a byte, so its
    `numel()` is half the real count (81M instead of SmolLM2-135M's 134.5M): count its original shape."""
    trainable = total = 0
    for p in model.parameters():
        state = getattr(p, "quant_state", None)
        n = int(state.shape.numel()) if state is not None and getattr(state, "shape", None) is not None else p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def _linear_names(model) -> set[str]:
    return {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


def datasets_for(cfg: RunConfig):
    """(train, eval) as `datasets.Dataset` in TRL's conversational prompt-completion form."""
    from datasets import Dataset

    from cockpit.data.load import load_training_data

    loaded = load_training_data(cfg.data, seed=cfg.training.seed)
    from cockpit.general.mix import mix_in  # general replay (data.general_mix)

    rows, loaded.general_mix = mix_in(loaded.rows, cfg.data, loaded.format, cfg.training.seed)
    train = Dataset.from_list(rows)
    evald = Dataset.from_list(loaded.eval_rows) if loaded.eval_rows else None
    return train, evald, loaded


def sft_config(cfg: RunConfig, output_dir: Path, idx: int | None, has_eval: bool):
    from trl import SFTConfig

    t = cfg.training
    bf16, fp16 = t.bf16, t.fp16
    if (bf16 or fp16) and idx is None:
        raise SetupError(
            f"training.{'bf16' if bf16 else 'fp16'}: mixed precision needs a CUDA GPU; "
            "this machine has none (set it to false)"
        )
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        learning_rate=t.learning_rate,
        max_steps=t.max_steps,
        num_train_epochs=t.num_train_epochs,
        per_device_train_batch_size=t.per_device_train_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        warmup_steps=t.warmup_ratio,  # transformers 5: a float < 1 here is a ratio of the total steps
        lr_scheduler_type=t.lr_scheduler_type,
        max_grad_norm=t.max_grad_norm,
        weight_decay=t.weight_decay,
        optim=t.optim,
        bf16=bf16,
        fp16=fp16,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        # A NaN loss must be seen, not averaged away: the guards depend on it.
        logging_nan_inf_filter=False,
        save_strategy="steps" if t.save_steps > 0 else "no",
        save_steps=t.save_steps if t.save_steps > 0 else 500,
        save_total_limit=t.save_total_limit,
        eval_strategy="steps" if (has_eval and t.eval_steps > 0) else "no",
        eval_steps=t.eval_steps if t.eval_steps > 0 else None,
        eval_on_start=bool(has_eval and t.eval_steps > 0 and t.eval_on_start),
        # TRL cannot truncate padding-free batches without packing and refuses a max_length there.
        max_length=None if (t.padding_free and not t.packing) else t.max_length,
        packing=t.packing,
        padding_free=t.padding_free,
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        use_liger_kernel=t.use_liger_kernel,
        seed=t.seed,
        data_seed=t.seed,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=t.dataloader_num_workers,
        gradient_checkpointing=cfg.model.gradient_checkpointing,
        use_cpu=idx is None,
        save_only_model=False,
    )
    if t.use_liger_kernel:
        if idx is None:
            raise SetupError("training.use_liger_kernel: Liger's kernels need a CUDA GPU; set it to false here")
        try:
            import liger_kernel  # noqa: F401
        except ImportError:
            raise SetupError("training.use_liger_kernel: needs liger-kernel (pip install liger-kernel)") from None
    if cfg.data.format != "text":
        kwargs["completion_only_loss"] = t.assistant_only_loss
    return SFTConfig(**kwargs)


def make_sampler(cfg: RunConfig):
    """Greedy generations for the configured prompts, rendered with the chat template."""
    from cockpit.general import sample_prompts  # general questions beside the task's: forgetting, seen

    prompts = list(cfg.samples.prompts)
    prompts += sample_prompts(cfg.samples.general_prompts if prompts else 0, besides=prompts)
    max_new = cfg.samples.max_new_tokens

    def sample(model, tokenizer):
        was_training = model.training
        model.eval()
        out = []
        try:
            for prompt in prompts:
                enc = encode_prompt(tokenizer, prompt).to(model.device)
                with torch.no_grad():
                    gen = model.generate(
                        **enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tokenizer.pad_token_id
                    )
                completion = tokenizer.decode(gen[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
                out.append((prompt, completion))
        finally:
            if was_training:
                model.train()
        return out

    return sample


def encode_prompt(tokenizer, prompt: str):
    """The prompt as the model's input ids: a user turn in the chat template when the tokenizer has one
    (a user's own script may train a base model without), else the plain text with the usual specials."""
    if getattr(tokenizer, "chat_template", None):
        msgs = [{"role": "user", "content": prompt}]
        text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return tokenizer(text, return_tensors="pt", add_special_tokens=False)
    return tokenizer(prompt, return_tensors="pt")
