"""The bytes of one LoRA/QLoRA training step, part by part, from the model's shapes and the run config.

What each part assumes (checked against the installed stack: transformers 5, peft, TRL 1.16):
- weights: every parameter in the load dtype (`auto`: bf16 on CUDA, fp32 on the CPU). 4-bit: each
  Linear weight but the LM head becomes nf4, 0.5 byte a parameter plus one absmax per block of 64
  (fp32, or with double quantization an 8-bit code plus an fp32 per 256 blocks); peft's
  prepare_model_for_kbit_training then casts every other bf16/fp16 parameter (embeddings, norms, head)
  to fp32. 8-bit: 1 byte a weight plus an fp32 scale per output row, the rest fp32 likewise.
- adapter: r x (in + out) per targeted Linear, kept in fp32 (peft upcasts a bf16/fp16 adapter), with an
  fp32 gradient and AdamW's two fp32 moments (8-bit optimizers: 2 bytes of state).
- activations: what autograd keeps per token per decoder layer, counted with saved-tensor hooks on the
  demo model and SmolLM2-135M (bench/README.md): 4h for the two RMSNorms, in + r for each LoRA branch
  (the dropped-out input of lora_A and its output), 2 x q + 2 x kv + heads for SDPA (q, k, v, output,
  log-sum-exp; eager keeps the heads x seq probabilities instead), 3 x intermediate for the SwiGLU MLP.
  Frozen Linears keep nothing. With gradient checkpointing each layer keeps only its input (h; and the final
  norm its own), and one layer is recomputed at a time. The backward's working set is taken as one more layer.
- logits: TRL 1.16's SFTTrainer never materialises batch x seq x vocab logits: compute_loss calls the
  model with `fused_lm_head=True`, which projects tiles of at most 4,096 tokens x 32,768 vocabulary
  entries and folds each into log-prob, entropy and top-1 statistics. Entropy and token accuracy thus
  add only per-token vectors. On a device without Triton (the CPU) each tile is folded with torch ops:
  forward and backward together peaked at 9 fp32 copies of the tile (measured with VmHWM, 4,096 tokens
  x 937 and x 8,192 vocabulary). The head also keeps its input hidden states and builds an fp32
  gradient for them.
- checkpoint pages (CPU, quantized base only): bitsandbytes quantizes from the full-precision file,
  which stays mapped and wholly resident afterwards (SmolLM2-135M 4-bit: RssFile 587 MiB after loading,
  against 230 MiB for fp32, whose weights are views of the lazily touched file). File-backed pages the
  kernel may reclaim, but they count in the RSS the cockpit shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cockpit.config import RunConfig
from cockpit.estimate.device import Device
from cockpit.estimate.shapes import Linear, ModelShape

TOKEN_TILE = 4096  # trl.kernels.chunked_logprob.TOKEN_CHUNK_SIZE
VOCAB_TILE = 32768  # trl.trainer.utils._CHUNKED_LOGPROB_CHUNK_SIZE
CPU_TILE_COPIES = 9  # fp32 copies of a tile the torch fallback holds at its peak (measured, see above)
NF4_BLOCK = 64
DQ_BLOCKS = 256

FITS, TIGHT, TOO_BIG = "fits", "tight", "does not fit"
FREE_WANTED = 0.20
"""The tuning notes: keep 10-20% of the device free. Under 80% used: fits; 80-90%: tight (runs, with a
warning); over 90%: `cockpit run` refuses."""
FREE_REQUIRED = 0.10


@dataclass
class Part:
    key: str
    label: str
    bytes: int
    detail: str


@dataclass
class Estimate:
    parts: list[Part]
    device: Device
    shape: ModelShape
    params_total: int
    params_trainable: int
    tokens: int
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def ratio(self) -> float:
        return self.total / self.device.capacity if self.device.capacity else float("inf")

    @property
    def verdict(self) -> str:
        if self.ratio <= 1 - FREE_WANTED:
            return FITS
        return TIGHT if self.ratio <= 1 - FREE_REQUIRED else TOO_BIG

    def part(self, key: str) -> int:
        return sum(p.bytes for p in self.parts if p.key == key)


def targeted(cfg: RunConfig, shape: ModelShape) -> list[Linear]:
    """The Linears peft puts LoRA on: a list matches a name or a dotted suffix; a string is a regex on the
    full name, except 'all-linear' (every Linear but the output layer)."""
    t = cfg.lora.target_modules
    if isinstance(t, str):
        if t == "all-linear":
            return list(shape.linears)
        return [m for m in shape.linears if re.fullmatch(t, m.name)]
    return [m for m in shape.linears if any(m.name == k or m.name.endswith("." + k) for k in t)]


def trainable_params(cfg: RunConfig, shape: ModelShape) -> int:
    r = cfg.lora.r
    targets = targeted(cfg, shape)
    n = sum(r * (m.in_features + m.out_features) for m in targets)
    if cfg.lora.bias == "all":
        n += sum(m.out_features for m in shape.linears if m.bias)
    elif cfg.lora.bias == "lora_only":
        n += sum(m.out_features for m in targets if m.bias)
    for name in cfg.lora.modules_to_save or []:
        n += _module_params(name, shape)
    return n


def _module_params(name: str, shape: ModelShape) -> int:
    if name == "lm_head":
        return shape.lm_head_params or shape.embed_params
    if name in ("embed_tokens", "wte", "word_embeddings"):
        return shape.embed_params
    return sum(m.params for m in shape.linears if m.name == name or m.name.endswith("." + name))


def weight_bytes(cfg: RunConfig, shape: ModelShape, device: Device) -> tuple[int, str]:
    q = cfg.model.quantization
    load = load_bytes(cfg, device)
    total = shape.total_params
    if q == "none":
        return total * load, f"{_count(total)} params in {_dtype_name(load)}"
    quantized = sum(m.in_features * m.out_features for m in shape.linears)
    rest = total - quantized
    if q == "4bit":
        blocks = quantized / NF4_BLOCK
        absmax = blocks * (1 + 4 / DQ_BLOCKS) if cfg.model.bnb_4bit_use_double_quant else blocks * 4
        b = quantized / 2 + absmax + rest * 4
        dq = "double-quantized" if cfg.model.bnb_4bit_use_double_quant else "fp32"
        return int(b), (
            f"{_count(quantized)} in {cfg.model.bnb_4bit_quant_type} ({dq} absmax), "
            f"{_count(rest)} embeddings/norms/head in fp32"
        )
    scales = sum(m.out_features for m in shape.linears) * 4
    return quantized + scales + rest * 4, f"{_count(quantized)} in int8, {_count(rest)} in fp32"


def load_bytes(cfg: RunConfig, device: Device) -> int:
    d = cfg.model.dtype
    if d == "auto":
        return 2 if device.kind == "cuda" and device.bf16 else 4
    return 4 if d == "float32" else 2


def activation_bytes(cfg: RunConfig, device: Device) -> int:
    """Bytes of a saved activation: the autocast dtype under bf16/fp16 mixed precision, else the hidden
    states' dtype (fp32 with a quantized base: its embeddings were cast to fp32 and bitsandbytes returns
    each Linear's output in its input's dtype)."""
    t = cfg.training
    if t.bf16 or t.fp16:
        return 2
    return 4 if cfg.model.quantization != "none" else load_bytes(cfg, device)


def layer_elements(cfg: RunConfig, shape: ModelShape, seq: int) -> float:
    """Elements autograd keeps per token in one decoder layer (module docstring)."""
    h, i = shape.hidden, shape.intermediate
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    lora = sum(m.in_features + cfg.lora.r for m in targeted(cfg, shape)) / max(shape.layers, 1)
    if cfg.model.attn_implementation == "eager":
        attn = 3 * q + shape.heads * seq
    else:
        attn = 2 * q + 2 * kv + shape.heads
    return 4 * h + lora + attn + 3 * i


def estimate(cfg: RunConfig, shape: ModelShape, device: Device) -> Estimate:
    t = cfg.training
    seq, batch = t.max_length, t.per_device_train_batch_size
    tokens = batch * seq
    act = activation_bytes(cfg, device)
    notes: list[str] = []

    w, w_detail = weight_bytes(cfg, shape, device)
    trainable = trainable_params(cfg, shape)
    state = 2 if "8bit" in t.optim else 0 if t.optim.startswith("sgd") else 8
    per_layer = layer_elements(cfg, shape, seq) * act * tokens
    gc = cfg.model.gradient_checkpointing
    if gc:
        # each layer's input, and the final norm's (counted with saved-tensor hooks: (layers + 1) x h)
        saved = (shape.layers + 1) * tokens * shape.hidden * act + per_layer
        how = f"checkpointed: {shape.layers + 1} layer inputs + 1 layer recomputed"
    else:
        saved = shape.layers * per_layer
        how = f"{shape.layers} layers x {layer_elements(cfg, shape, seq):,.0f} values/token"
    head_in = tokens * shape.hidden * (3 * act + 4)  # final norm, the head's input, its fp32 gradient
    tile = min(tokens, TOKEN_TILE) * min(shape.vocab, VOCAB_TILE)
    tile_bytes = tile * (act if device.triton else 4 * CPU_TILE_COPIES)
    full_logits = tokens * shape.vocab * 4
    parts = [
        Part("weights", "base weights", int(w), w_detail),
        Part(
            "adapter",
            "LoRA adapter",
            trainable * 4,
            f"{_count(trainable)} trainable params (r={cfg.lora.r} on {len(targeted(cfg, shape))} modules), fp32",
        ),
        Part("gradients", "adapter gradients", trainable * 4, "fp32"),
        Part(
            "optimizer",
            "optimizer states",
            trainable * state,
            f"{t.optim}: {state} bytes/param" if state != 8 else "AdamW: 2 fp32 moments",
        ),
        Part("activations", "activations", int(saved), f"{batch} x {seq} tokens, {how}, {_dtype_name(act)}"),
        Part("backward", "backward working set", int(per_layer), "one layer's worth of gradients"),
        Part(
            "logits",
            "LM head and logits",
            int(head_in + tile_bytes),
            f"TRL's fused head: {min(tokens, TOKEN_TILE)} x {min(shape.vocab, VOCAB_TILE)} tiles"
            f"{'' if device.triton else ' folded in fp32 (no Triton)'}; full logits would be {_gib(full_logits)}",
        ),
        Part("framework", "framework overhead", device.overhead, device.overhead_source),
    ]
    if cfg.model.quantization != "none" and device.kind == "cpu" and shape.checkpoint_bytes:
        parts.insert(
            1,
            Part(
                "checkpoint",
                "checkpoint pages",
                shape.checkpoint_bytes,
                "the full-precision file stays mapped after quantizing (file-backed RSS)",
            ),
        )
    if t.padding_free and not t.packing:
        notes.append(
            "padding_free without packing does not truncate: samples longer than max_length make "
            "bigger batches than this estimate assumes"
        )
    if cfg.launch.num_processes > 1:
        notes.append("per device; DDP adds gradient buckets about the adapter's size")
    notes.append(
        f"assumes every sample fills max_length={seq} (a batch of shorter samples is padded only to its longest)"
    )
    return Estimate(parts, device, shape, shape.total_params, trainable, tokens, notes)


def _count(n: float) -> str:
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(int(n))


def _gib(b: float) -> str:
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.1f} MiB"


def _dtype_name(nbytes: int) -> str:
    return {4: "fp32", 2: "16-bit"}.get(nbytes, f"{nbytes} bytes")
