"""`cockpit check-data` as text: the audit report as a compact table that fits 80 columns."""

from __future__ import annotations

import textwrap
from typing import Any

from cockpit import severity
from cockpit.config import RunConfig
from cockpit.data.audit_report import AuditReport


def _num(x: float) -> str:
    """Learning rates the way people write them: 5e-5, 3e-4, 0.1."""
    if x and abs(x) < 0.01:
        m, e = f"{x:e}".split("e")
        return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
    return f"{x:g}"


def render(r: AuditReport, cfg: RunConfig | None = None) -> str:
    """The report as a compact table (fits 80 columns, except long paths and diffs)."""
    t, s, tp = r.tokens, r.style, r.template
    rows_s = (
        f"{r.rows} rows"
        + (f" + {r.eval_rows} eval" if r.eval_rows else "")
        + (f", {r.skipped_rows} malformed skipped" if r.skipped_rows else "")
    )
    out = [f"data       {r.source}", f"           {r.format}, {rows_s}"]
    if r.general_mix:
        out.append(f"           {r.general_mix}")
    if t:
        out.append(f"tokenizer  {t.get('tokenizer') or '?'}")
    out.append("")
    out.append(" # question    answer     numbers")

    def q(i: int, name: str, ans: str, nums: str) -> None:
        out.append(f" {i} {name:<11} {ans:<10} {nums}")

    q(1, "size", r.size_bucket, rows_s)
    q(
        2,
        "templated",
        "YES" if r.templated else "no",
        f"dup {r.duplicate_ratio:.0%} · near-dup {r.near_duplicate_ratio:.0%} · "
        f"opening {r.shared_prefix_ratio:.0%} {r.top_prefix[:16]!r}",
    )
    if t:
        fits = "cut" if t["truncated_share"] > 0.01 else "fits"
        q(
            3,
            "tokens",
            fits,
            f"mean {t['mean']:.0f} · p95 {t['p95']:.0f} · max {t['max']:.0f} · "
            f"{t['truncated_share']:.1%} > max_length {t['max_length']}"
            + (f" ({t['sampled_rows']} sampled)" if t["sampled_rows"] < r.rows else ""),
        )
    else:
        q(3, "tokens", "?", "not measured (no tokenizer, or the chat template failed)")
    q(
        4,
        "one style",
        "yes" if r.one_style else ("mixed" if s["top_family_share"] < 0.5 else "no"),
        f"{s['top_family']} {s['top_family_share']:.0%} · length cv {s['length_cv']:.2f} · "
        f"first word {s['top_first_word'][:12]!r} {s['top_first_word_share']:.0%}",
    )
    q(5, "reasoning", r.reasoning_need, "data.reasoning_need (you say)")
    if tp:
        out.append("")
        if not tp.get("applicable", True):
            out.append("chat template  not used (text rows: every token carries loss)")
        elif not tp.get("has_template", True):
            out.append("chat template  NONE on this tokenizer")
        else:
            sm = tp.get("sample", {})
            same = (
                "training == inference"
                if tp["prompt_match"]
                else f"DIFFERS in {tp['mismatch_rows']} of {tp['rows_checked']} rows"
            )
            masked = "answer only" if tp["masked_ok"] else "CHECK MASKING"
            out.append(f"chat template  prompt {same}; loss on {tp['loss_share']:.0%} of tokens ({masked})")
            out.append(
                f"               e.g. row {sm.get('index', 0) + 1}: {sm.get('loss_tokens', 0)} of "
                f"{sm.get('total_tokens', 0)} tokens carry loss: {sm.get('loss_text', '')[:40]!r}"
            )
            if sm.get("diff"):
                out.append("")
                out.append(sm["diff"])
                out.append(sm.get("first_difference", ""))
    rec = r.recommended
    out.append("")
    cur = {}
    if cfg is not None:
        cur = {
            "learning_rate": cfg.training.learning_rate,
            "lora_dropout": cfg.lora.lora_dropout,
            "r": cfg.lora.r,
            "lora_alpha": cfg.lora.alpha,
            "target_modules": cfg.lora.target_modules,
        }
    out.append(
        "SOP start  "
        + "   ".join(
            f"{k} {_fmt(v)}" + (f" (now {_fmt(cur[k])})" if k in cur and _fmt(cur[k]) != _fmt(v) else "")
            for k, v in rec.items()
            if k != "target_modules"
        )
    )
    out.append(
        f"           target_modules {_fmt(rec['target_modules'])}"
        + (
            f" (now {_fmt(cur['target_modules'])})"
            if cur and _fmt(cur["target_modules"]) != _fmt(rec["target_modules"])
            else ""
        )
    )
    if r.findings:
        out.append("")
    for f in r.findings:
        out.extend(
            textwrap.wrap(
                f.message,
                width=96,
                initial_indent=f"{severity.ICON[f.severity]} {f.severity:<6} ",
                subsequent_indent=" " * 9,
                break_on_hyphens=False,
            )
        )
    for b in r.bad_rows[:5]:
        out.append(f"  skipped {b}")
    verdict = {"ok": "ok", "warn": "usable, with warnings (exit 1)", "danger": "do not train as configured (exit 2)"}
    out.append("")
    out.append(f"step 0: {verdict.get(r.worst, r.worst)}  ({r.elapsed_s:.1f}s)")
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return _num(v)
    return str(v)
