"""SOP step 0, know your data: `cockpit check-data CONFIG [--json] [--skip-bad]`.

The SOP's five questions, answered with numbers:
1. size:        rows -> bucket <5k / 5-50k / >50k
2. templating:  exact-duplicate outputs, near-duplicates (outputs equal after normalising digits, case
                and spacing), and the share of outputs that open with the same 5 words
3. length:      tokens per sample with the model's tokenizer: mean, p95, max, share truncated by max_length
4. style:       how concentrated the outputs are in one shape (length bucket x first word)
5. reasoning:   what the config says (data.reasoning_need); it cannot be measured
and the SOP's starting point derived from them:
- <5k rows and templated -> lr 5e-5, dropout 0.1 ("expect loss to collapse to 0")
- <5k rows              -> lr 1e-4, dropout 0.1
- 5-50k                 -> lr 1e-4, dropout 0.05
- >50k                  -> lr 2e-4, dropout 0.05
- heavy reasoning       -> r 16 on q,k,v (structure), otherwise r 8 on q,v; alpha = 2r always.
Plus the chat-template check (cockpit.data.template_check).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from cockpit.config import RunConfig
from cockpit.data.load import DataError, LoadedData, load_training_data

NUM = re.compile(r"\d+")
SPACE = re.compile(r"\s+")


@dataclass
class AuditReport:
    source: str
    format: str
    rows: int
    skipped_rows: int
    bad_rows: list[str]
    size_bucket: str
    duplicate_ratio: float
    near_duplicate_ratio: float
    shared_prefix_ratio: float
    templated: bool
    tokens: dict[str, float]
    style_concentration: float
    one_style: bool
    reasoning_need: str
    recommended: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    template: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _completion(row: dict) -> str:
    if "completion" in row:
        return row["completion"][0]["content"]
    return row.get("text", "")


def _normal(s: str) -> str:
    return SPACE.sub(" ", NUM.sub("0", s.lower())).strip()


def _pct(xs: list[int], q: float) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return float(s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))])


def audit(cfg: RunConfig, skip_bad: bool = False, tokenizer=None, loaded: LoadedData | None = None) -> AuditReport:
    loaded = loaded or load_training_data(cfg.data, skip_bad=skip_bad)
    rows = loaded.rows + loaded.eval_rows
    n = len(rows)
    outs = [_completion(r) for r in rows]
    dup = 1 - len(set(outs)) / n
    near = 1 - len({_normal(o) for o in outs}) / n
    prefixes = Counter(" ".join(o.split()[:5]) for o in outs if len(o.split()) >= 5)
    shared = (prefixes.most_common(1)[0][1] / n) if prefixes else 0.0
    templated = dup > 0.3 or near > 0.5 or shared > 0.5
    shapes = Counter((min(len(o) // 50, 10), (o.split() or [""])[0].lower()) for o in outs)
    concentration = shapes.most_common(1)[0][1] / n
    bucket = "<5k" if n < 5000 else ("5-50k" if n <= 50000 else ">50k")

    tok_stats: dict[str, float] = {}
    template: dict[str, Any] = {}
    if tokenizer is None:
        tokenizer = _load_tokenizer(cfg)
    if tokenizer is not None:
        from cockpit.data.template_check import check_template, render_lengths

        lengths = render_lengths(tokenizer, rows[:5000])
        ml = cfg.training.max_length
        tok_stats = {"mean": sum(lengths) / len(lengths), "p95": _pct(lengths, 0.95), "max": float(max(lengths)),
                     "truncated_share": sum(1 for x in lengths if x > ml) / len(lengths), "max_length": ml,
                     "sampled_rows": len(lengths)}
        if rows and "prompt" in rows[0]:
            template = check_template(tokenizer, rows[0])

    rec, warnings = recommend(bucket, templated, cfg.data.reasoning_need)
    if tok_stats.get("truncated_share", 0) > 0.05:
        warnings.append(f"{tok_stats['truncated_share']:.0%} of samples are longer than max_length "
                        f"{cfg.training.max_length}: they will be truncated (raise training.max_length?)")
    if concentration > 0.8:
        warnings.append(f"{concentration:.0%} of outputs share one shape: the model may learn the form, not the task")
    if template and not template.get("prompt_match", True):
        warnings.append("the chat template renders the prompt differently at training and inference time (see diff)")
    if template and template.get("loss_tokens", 1) == 0:
        warnings.append("no token carries loss: the completion is masked away")
    if loaded.skipped:
        warnings.append(f"{loaded.skipped} malformed row(s) skipped")
    return AuditReport(loaded.source, loaded.format, n, loaded.skipped, [str(b) for b in loaded.bad[:20]], bucket,
                       round(dup, 4), round(near, 4), round(shared, 4), templated, tok_stats,
                       round(concentration, 4), concentration > 0.8, cfg.data.reasoning_need, rec, warnings, template)


def recommend(bucket: str, templated: bool, reasoning: str) -> tuple[dict[str, Any], list[str]]:
    warnings = []
    if bucket == "<5k" and templated:
        lr, dropout = 5e-5, 0.1
        warnings.append("<5k rows and templated outputs: expect loss to collapse to 0 quickly; start at lr 5e-5, "
                        "dropout 0.1, and watch the samples")
    elif bucket == "<5k":
        lr, dropout = 1e-4, 0.1
        warnings.append("<5k rows: small data overfits fast; dropout 0.1")
    elif bucket == "5-50k":
        lr, dropout = 1e-4, 0.05
    else:
        lr, dropout = 2e-4, 0.05
    r, targets = (16, ["q_proj", "k_proj", "v_proj"]) if reasoning == "heavy" else (8, ["q_proj", "v_proj"])
    return {"learning_rate": lr, "lora_dropout": dropout, "r": r, "lora_alpha": 2 * r, "target_modules": targets}, warnings


def _load_tokenizer(cfg: RunConfig):
    try:
        from transformers import AutoTokenizer

        from cockpit.demo import resolve_model_path

        tok = AutoTokenizer.from_pretrained(resolve_model_path(cfg.model.name_or_path),
                                            trust_remote_code=cfg.model.trust_remote_code)
        if cfg.data.chat_template:
            from pathlib import Path

            t = cfg.data.chat_template
            tok.chat_template = Path(t).read_text() if Path(t).is_file() else t
        return tok
    except Exception as e:  # no tokenizer offline: the audit still answers what it can
        print(f"note: tokenizer not available ({type(e).__name__}: {e}); token counts skipped", file=sys.stderr)
        return None


def main(cfg: RunConfig, *, as_json: bool = False, skip_bad: bool = False) -> int:
    try:
        rep = audit(cfg, skip_bad=skip_bad)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(rep.to_dict(), indent=1))
    else:
        print(render(rep))
    return 1 if rep.warnings else 0


def render(r: AuditReport) -> str:
    t = r.tokens
    lines = [f"data: {r.source} ({r.format}, {r.rows} rows" + (f", {r.skipped_rows} skipped)" if r.skipped_rows else ")"),
             "",
             f"1 size          {r.size_bucket:<8} {r.rows} rows",
             f"2 templating    {'TEMPLATED' if r.templated else 'varied':<8} duplicates {r.duplicate_ratio:.1%}, "
             f"near-duplicates {r.near_duplicate_ratio:.1%}, shared 5-word prefix {r.shared_prefix_ratio:.1%}",
             (f"3 tokens        mean {t['mean']:.0f}, p95 {t['p95']:.0f}, max {t['max']:.0f}; "
              f"{t['truncated_share']:.1%} over max_length {t['max_length']}") if t else "3 tokens        (no tokenizer)",
             f"4 style         {'one style' if r.one_style else 'mixed':<8} largest shape {r.style_concentration:.0%} of outputs",
             f"5 reasoning     {r.reasoning_need:<8} (data.reasoning_need, as the config says)",
             ""]
    rec = r.recommended
    lines.append(f"SOP starting point: lr {rec['learning_rate']:g}, lora_dropout {rec['lora_dropout']}, r {rec['r']}, "
                 f"lora_alpha {rec['lora_alpha']}, target_modules {','.join(rec['target_modules'])}")
    tp = r.template
    if tp:
        lines.append("")
        lines.append(f"chat template: prompt at training == inference: {'yes' if tp['prompt_match'] else 'NO'}; "
                     f"{tp['loss_tokens']} of {tp['total_tokens']} tokens carry loss"
                     f" ({'answer only' if tp['masked_ok'] else 'CHECK MASKING'})")
        if tp.get("diff"):
            lines.append(tp["diff"])
    for w in r.warnings:
        lines.append(f"▲ {w}")
    for b in r.bad_rows[:5]:
        lines.append(f"  skipped: {b}")
    return "\n".join(lines)
