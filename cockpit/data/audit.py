"""SOP step 0, know your data: `cockpit check-data CONFIG [--json] [--skip-bad]`.

`audit(cfg) -> AuditReport` answers the SOP's five questions with numbers, checks the chat template,
and derives the SOP's starting point. The cockpit shows it as its first panel; the trainer writes
`AuditReport.to_dict()` as an `audit` event. It reads the data with `cockpit.data.load` and the
model's tokenizer (`AutoTokenizer`; `demo:tiny-llama` through `cockpit.demo.resolve_model_path`).
Question 2 is answered in `templating`, question 4 in `style`, the starting point in `starting_point`,
the text in `render`; the report's shape is `audit_report.AuditReport`. Without the [train] extra
(no transformers) the audit still answers questions 1, 2, 4 and 5 and says what it skipped.

The five questions
------------------
1. size         training rows -> bucket "<5k" | "5-50k" | ">50k" (eval rows are reported apart).
2. templated    over the answers (the completion; the whole text for text rows):
                - duplicate_ratio: 1 - distinct answers / answers (exact, byte for byte);
                - near_duplicate_ratio: 1 - near-duplicate clusters / answers, where answers are
                  normalised (lower case, digits -> 0, punctuation and spacing dropped) and two answers
                  are near-duplicates when MinHash (32 hashes over word 3-shingles, LSH 8 bands x 4)
                  estimates their Jaccard similarity >= 0.7;
                - shared_prefix_ratio: the share of answers that open with the most common first
                  3 normalised words (`top_prefix`).
                templated = duplicate_ratio >= 0.3 or near_duplicate_ratio >= 0.5
                            or shared_prefix_ratio >= 0.5.
3. tokens       with the model's tokenizer, exactly as TRL builds a training sample (the chat template
                applied to prompt + answer): mean, p50, p95, max; truncated_share = samples longer than
                training.max_length; dropped = samples whose prompt alone fills max_length (no loss
                token left; TRL drops them). Up to 10,000 rows are measured (a seeded sample beyond).
4. one style    each answer gets a format family: code (a ``` fence), json (parses as an object or
                array), list (2+ lines starting with -, *, • or "1."), paragraphs (a blank line),
                lines (several lines), phrase (one line, <= 6 words), sentences (one line, longer).
                one_style = the top family holds >= 90% of answers and answer lengths vary little
                (coefficient of variation <= 0.5). mixed = the top family < 50%.
5. reasoning    `data.reasoning_need` (none | light | heavy): the user says, it cannot be measured.

The SOP's starting point (the sweep in stage 3 still decides the lr)
--------------------------------------------------------------------
    size    templated   learning_rate   lora_dropout   warning
    <5k     yes         5e-5            0.1            expect loss to collapse to ~0 within 200 steps
    <5k     no          1e-4            0.1            small data overfits fast
    5-50k   yes         1e-4            0.1            loss falls fast; watch entropy and samples
    5-50k   no          1e-4            0.05
    >50k    yes         1e-4            0.05           loss falls fast; watch the samples
    >50k    no          2e-4            0.05
    reasoning heavy -> r 16, else r 8; lora_alpha = 2r; target_modules q_proj, v_proj (k_proj only at the
    stage-7 structure backtrack). One style + templated also warns that outputs may turn rigid
    (SOP: loss low but outputs rigid -> lower alpha).

Findings and exit codes
-----------------------
Every finding has a severity (ok | warn | danger, the advisor's words) and a code. `main()` prints the
report (a compact table, or JSON with --json) and returns:
    0  nothing to act on;
    1  warnings: the data can be trained on, read them first (templated, truncation, one style, ...);
    2  refused: malformed rows / no rows (DataError: file:line), or a danger finding that makes training
       wrong as configured (chat template differs between training and inference, answer tokens
       masked, no loss tokens, no chat template for chat rows).

Over 350 lines on purpose: a sixth of it is this table, and the rest is the one function that asks the
five questions in order and the findings each answer gives (the measures themselves live in templating,
style, starting_point and template_check).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from cockpit import severity
from cockpit.config import RunConfig
from cockpit.data.audit_report import AuditReport, DataFinding
from cockpit.data.load import DataError, LoadedData, load_training_data
from cockpit.data.render import render
from cockpit.data.starting_point import config_patch, recommend, size_bucket
from cockpit.data.style import style_of
from cockpit.data.templating import answer_text, near_duplicate_ratio, shared_prefix

TOKEN_SAMPLE = 10_000
"""Rows rendered and tokenized at most (a seeded sample beyond)."""
MINHASH_SAMPLE = 20_000
"""Answers compared for near-duplicates at most."""


def load_tokenizer(cfg: RunConfig):
    """The tokenizer the trainer will use (same override of the chat template). Raises on failure."""
    from transformers import AutoTokenizer

    name = cfg.model.name_or_path
    try:
        from cockpit.demo import resolve_model_path
    except ImportError:
        path = name
    else:
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):  # "building the demo model ..." must not spoil --json
            path = resolve_model_path(name)
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=cfg.model.trust_remote_code)
    if cfg.data.chat_template:
        t = cfg.data.chat_template
        tok.chat_template = Path(t).read_text() if len(t) < 4096 and Path(t).is_file() else t
    return tok


def _pct(sorted_xs: list[int], q: float) -> float:
    if not sorted_xs:
        return 0.0
    return float(sorted_xs[min(len(sorted_xs) - 1, int(math.ceil(q * len(sorted_xs))) - 1)])


def _sample(rows: list[dict], cap: int, seed: int) -> list[dict]:
    if len(rows) <= cap:
        return rows
    idx = sorted(random.Random(seed).sample(range(len(rows)), cap))
    return [rows[i] for i in idx]


def audit(
    cfg: RunConfig, skip_bad: bool = False, *, tokenizer: Any = None, loaded: LoadedData | None = None
) -> AuditReport:
    """Answer the SOP's step-0 questions for `cfg.data` (see the module doc). Raises DataError on bad
    data (unless skip_bad). `tokenizer` / `loaded` may be passed in by a caller that has them (the
    trainer); otherwise they are loaded here. A tokenizer that cannot be loaded is a warning."""
    t0 = time.perf_counter()
    if loaded is None:
        loaded = load_training_data(cfg.data, skip_bad=skip_bad or None, seed=cfg.training.seed)
    rows = loaded.rows
    n = len(rows)
    findings: list[DataFinding] = []
    seed = cfg.training.seed

    # 1 size, 2 templating
    bucket = size_bucket(n)
    answers = [answer_text(r) for r in rows]
    dup = 1 - len(set(answers)) / n
    mh = answers if n <= MINHASH_SAMPLE else [answer_text(r) for r in _sample(rows, MINHASH_SAMPLE, seed)]
    near = max(near_duplicate_ratio(mh), 0.0)
    shared, top_prefix = shared_prefix(answers)
    templated = dup >= 0.3 or near >= 0.5 or shared >= 0.5

    # 3 tokens (+ the chat-template check)
    tokens: dict[str, Any] = {}
    template: dict[str, Any] = {}
    answer_lengths: list[int] | None = None
    if tokenizer is None:
        try:
            tokenizer = load_tokenizer(cfg)
        except ModuleNotFoundError as e:  # the base install: no transformers
            findings.append(
                DataFinding(
                    "warn",
                    "no_tokenizer",
                    f"token counts and the chat-template check need the "
                    f"[train] extra ({e.name} is not installed): pip install 'lora-cockpit[train]'",
                )
            )
        except Exception as e:  # offline hub id, missing files, ...: the rest of the audit still stands
            findings.append(
                DataFinding(
                    "warn",
                    "no_tokenizer",
                    f"tokenizer of {cfg.model.name_or_path} not available "
                    f"({type(e).__name__}: {str(e)[:200]}); token counts and the chat-template "
                    "check skipped",
                )
            )
    ml = cfg.training.max_length
    if tokenizer is not None:
        from cockpit.data.template_check import measure

        sample = _sample(rows, TOKEN_SAMPLE, seed)
        m = measure(tokenizer, sample, max_length=ml, completion_only_loss=cfg.training.assistant_only_loss)
        tot = sorted(m.total)
        k = len(tot)
        if k:
            tokens = {
                "mean": round(sum(tot) / k, 2),
                "p50": _pct(tot, 0.5),
                "p95": _pct(tot, 0.95),
                "max": float(tot[-1]),
                "truncated_share": round(sum(1 for x in tot if x > ml) / k, 4),
                "dropped": sum(1 for p in m.prompt if p and p >= ml),
                "max_length": ml,
                "prompt_mean": round(sum(m.prompt) / k, 2),
                "answer_mean": round(sum(t - p for t, p in zip(m.total, m.prompt)) / k, 2),
                "sampled_rows": k,
                "tokenizer": str(getattr(tokenizer, "name_or_path", "") or ""),
            }
        if k == n and m.check.applicable:
            answer_lengths = [t - p for t, p in zip(m.total, m.prompt)]
        template = m.check.to_dict()

    # 4 style
    style = style_of(answers, answer_lengths)
    one_style = style["top_family_share"] >= 0.9 and style["length_cv"] <= 0.5

    # 5 reasoning + the SOP start
    rec, sop = recommend(bucket, templated, cfg.data.reasoning_need)
    findings += sop
    patch = config_patch(cfg, rec)

    # the other warnings
    if tokens:
        if tokens["truncated_share"] > 0.01:
            findings.append(
                DataFinding(
                    "warn",
                    "truncation",
                    f"{tokens['truncated_share']:.1%} of samples are longer than training.max_length "
                    f"{ml} (p95 {tokens['p95']:.0f}, max {tokens['max']:.0f}): they are cut; "
                    "raise max_length?",
                )
            )
        if tokens["dropped"]:
            findings.append(
                DataFinding(
                    "warn",
                    "dropped",
                    f"{tokens['dropped']} sample(s) have a prompt of "
                    f">= {ml} tokens: no answer token is left after truncation (TRL drops them)",
                )
            )
    if one_style and templated:
        findings.append(
            DataFinding(
                "warn",
                "one_style",
                f"one style ({style['top_family']}, "
                f"{style['top_family_share']:.0%}) and templated: outputs may turn rigid; "
                "if samples all look alike, lower lora_alpha",
            )
        )
    elif style["top_family_share"] < 0.5:
        findings.append(
            DataFinding(
                "ok",
                "mixed_style",
                f"mixed styles (top family {style['top_family']} "
                f"{style['top_family_share']:.0%}): loss falls slower; judge lr over the full sweep",
            )
        )
    if template:
        findings += _template_findings(template, cfg)
    if loaded.skipped:
        findings.append(
            DataFinding("warn", "skipped", f"{loaded.skipped} malformed row(s) skipped (first: {loaded.bad[0]})")
        )
    findings.sort(key=lambda f: -severity.RANK[f.severity])
    worst = severity.worst(f.severity for f in findings)
    from cockpit.general.mix import describe, mix_in

    _, mix = mix_in(rows, cfg.data, loaded.format, seed)  # a bad data.general_path is refused here too
    return AuditReport(
        source=loaded.source,
        format=loaded.format,
        rows=n,
        eval_rows=len(loaded.eval_rows),
        skipped_rows=loaded.skipped,
        bad_rows=[str(b) for b in loaded.bad[:20]],
        size_bucket=bucket,
        duplicate_ratio=round(dup, 4),
        near_duplicate_ratio=round(near, 4),
        shared_prefix_ratio=round(shared, 4),
        top_prefix=top_prefix,
        templated=templated,
        tokens=tokens,
        style=style,
        one_style=one_style,
        reasoning_need=cfg.data.reasoning_need,
        recommended=rec,
        config_patch=patch,
        template=template,
        findings=findings,
        warnings=[f.message for f in findings if f.severity != "ok"],
        worst=worst,
        elapsed_s=round(time.perf_counter() - t0, 3),
        general_mix=describe(mix) if mix else "",
    )


def _template_findings(t: dict[str, Any], cfg: RunConfig) -> list[DataFinding]:
    out = []
    if not t.get("applicable", True):
        return out
    n = t.get("rows_checked", 0)
    if not t.get("has_template", True):
        return [
            DataFinding(
                "danger",
                "no_chat_template",
                "the tokenizer has no chat template: TRL cannot render chat "
                "rows; set data.chat_template (a Jinja template or a file) or use text rows",
            )
        ]
    if t.get("render_errors"):
        out.append(DataFinding("danger", "template_error", t["problems"][0]))
    if not n:
        return out
    if t["mismatch_rows"]:
        out.append(
            DataFinding(
                "danger",
                "template_mismatch",
                f"chat template: the prompt rendered for training differs from the inference prompt "
                f"in {t['mismatch_rows']} of {n} rows; the model would be trained on a context it "
                f"does not see at inference ({t['sample'].get('first_difference', '')})",
            )
        )
    elif t["token_mismatch_rows"]:
        out.append(
            DataFinding(
                "warn",
                "token_boundary",
                f"{t['token_mismatch_rows']} of {n} rows: the tokenized prompt is not a prefix of the "
                "tokenized prompt+answer (tokens merge across the boundary)",
            )
        )
    if t["masked_answer_rows"]:
        out.append(
            DataFinding(
                "danger", "answer_masked", f"{t['masked_answer_rows']} of {n} rows: part of the answer carries no loss"
            )
        )
    if t["zero_loss_rows"] == n and n:
        out.append(DataFinding("danger", "no_loss", "no token carries loss in any row: nothing would be learned"))
    if not cfg.training.assistant_only_loss:
        out.append(
            DataFinding(
                "warn",
                "loss_on_prompt",
                "training.assistant_only_loss is false: the prompt tokens "
                f"carry loss too ({t['loss_share']:.0%} of tokens)",
            )
        )
    elif t["loss_before_answer_rows"]:
        out.append(
            DataFinding(
                "danger" if not t["mismatch_rows"] else "warn",
                "loss_on_prompt",
                f"{t['loss_before_answer_rows']} of {n} rows: prompt or template text before the answer "
                f"carries loss ({t['sample'].get('loss_text', '')[:40]!r}...)",
            )
        )
    return out


def main(cfg: RunConfig, *, as_json: bool = False, skip_bad: bool = False) -> int:
    """`cockpit check-data`: print the audit; exit 0 ok, 1 warnings, 2 refused (see the module doc)."""
    try:
        rep = audit(cfg, skip_bad=skip_bad)
    except DataError as e:
        if as_json:
            print(
                json.dumps(
                    {"error": str(e), "problems": [str(p) for p in e.problems[:20]], "problem_count": len(e.problems)},
                    indent=1,
                )
            )
        print(f"error: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(rep.to_dict(), indent=1))
    else:
        print(render(rep, cfg))
    return rep.exit_code
