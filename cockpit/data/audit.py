"""SOP step 0, know your data: `cockpit check-data CONFIG [--json] [--skip-bad]`.

`audit(cfg) -> AuditReport` answers the SOP's five questions with numbers, checks the chat template,
and derives the SOP's starting point. The cockpit shows it as its first panel; the trainer writes
`AuditReport.to_dict()` as an `audit` event. It reads the data with `cockpit.data.load` and the
model's tokenizer (`AutoTokenizer`; `demo:tiny-llama` through `cockpit.demo.resolve_model_path`).

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
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import textwrap
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cockpit.config import RunConfig
from cockpit.data.load import DataError, LoadedData, load_training_data

TOKEN_SAMPLE = 10_000
"""Rows rendered and tokenized at most (a seeded sample beyond)."""
MINHASH_SAMPLE = 20_000
"""Answers compared for near-duplicates at most."""
SEVERITY_RANK = {"ok": 0, "warn": 1, "danger": 2}

_NUM = re.compile(r"\d+")
_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass
class Finding:
    severity: str
    """ok | warn | danger."""
    code: str
    """Stable id: templated_small, truncation, template_mismatch, ..."""
    message: str


@dataclass
class AuditReport:
    source: str
    format: str
    rows: int
    """Training rows (after skipping malformed ones)."""
    eval_rows: int
    skipped_rows: int
    bad_rows: list[str]
    """The first 20 malformed rows as `file:line: what` (only with --skip-bad / data.skip_bad)."""
    size_bucket: str
    duplicate_ratio: float
    near_duplicate_ratio: float
    shared_prefix_ratio: float
    top_prefix: str
    templated: bool
    tokens: dict[str, Any]
    """mean, p50, p95, max, truncated_share, dropped, max_length, answer_mean, prompt_mean, sampled_rows,
    tokenizer; empty when no tokenizer could be loaded."""
    style: dict[str, Any]
    """families (share per family), top_family, length_cv, top_first_word, top_first_word_share."""
    one_style: bool
    reasoning_need: str
    recommended: dict[str, Any]
    """learning_rate, lora_dropout, r, lora_alpha, target_modules."""
    config_patch: dict[str, Any]
    """Dotted config keys whose value differs from the recommended start (for a next-config action)."""
    template: dict[str, Any]
    """`TemplateCheck.to_dict()`: prompt_match, mismatch_rows, loss_share, masked_ok, sample (diff...)."""
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """The messages of the warn and danger findings, most severe first."""
    worst: str = "ok"
    elapsed_s: float = 0.0
    general_mix: str = ""
    """What general replay (data.general_mix) adds to the training rows, in a line."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        return SEVERITY_RANK.get(self.worst, 0)


# --------------------------------------------------------------------------------------------------
# Question 2: templating


def answer_text(row: dict) -> str:
    if "completion" in row:
        return row["completion"][0]["content"]
    return row.get("text", "")


def normalise(s: str) -> str:
    return _SPACE.sub(" ", _PUNCT.sub(" ", _NUM.sub("0", s.lower()))).strip()


def near_duplicate_ratio(texts: list[str], *, threshold: float = 0.7, k: int = 32, bands: int = 8) -> float:
    """1 - clusters / len(texts); clusters join texts whose MinHash Jaccard estimate >= threshold."""
    n = len(texts)
    if n < 2:
        return 0.0
    import numpy as np

    # Word 3-shingles, hashed in numpy: words -> ids (first-seen order: deterministic), then one
    # 64-bit value per shingle; an answer of < 3 words is one shingle (its crc32).
    vocab: dict[str, int] = {}
    flat: list[int] = []
    shingle_pos: list[int] = []  # index into flat of each shingle's first word, or -1 - short-doc slot
    short: list[int] = []
    starts = []
    for t in texts:
        w = normalise(t).split()
        starts.append(len(shingle_pos))
        base = len(flat)
        flat.extend([vocab.setdefault(x, len(vocab) + 1) for x in w])
        if len(w) < 3:
            shingle_pos.append(-1 - len(short))
            short.append(zlib.crc32(" ".join(w).encode()))
        else:
            shingle_pos.extend(range(base, base + len(w) - 2))
    ids = np.asarray(flat + [0, 0], dtype=np.uint64)
    pos = np.asarray(shingle_pos, dtype=np.int64)
    long_ = pos >= 0
    h = np.empty(len(pos), dtype=np.uint64)
    p = pos[long_]
    with np.errstate(over="ignore"):
        h[long_] = (ids[p] * np.uint64(0x9E3779B97F4A7C15) + ids[p + 1] * np.uint64(0xC2B2AE3D27D4EB4F)
                    + ids[p + 2] * np.uint64(0x165667B19E3779F9))
    h[~long_] = np.asarray(short, dtype=np.uint64)[-1 - pos[~long_]] * np.uint64(0xFF51AFD7ED558CCD)
    rng = np.random.default_rng(1234)
    a = rng.integers(1, 2 ** 63, size=k, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2 ** 63, size=k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        vals = (h[None, :] * a[:, None] + b[:, None]) >> np.uint64(32)  # multiply-shift, wraps mod 2^64
    sig = np.minimum.reduceat(vals, np.asarray(starts), axis=1).T  # (n, k)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    r = k // bands
    idx = np.arange(n)
    for band in range(bands):  # LSH: rows equal on a band are candidates; verified on the whole signature
        block = np.ascontiguousarray(sig[:, band * r:(band + 1) * r]).view(np.dtype((np.void, 8 * r))).ravel()
        _, first, inv = np.unique(block, return_index=True, return_inverse=True)
        rep = first[inv.ravel()]
        others = idx[rep != idx]
        if not len(others):
            continue
        agree = (sig[others] == sig[rep[others]]).mean(axis=1)
        for i in others[agree >= threshold].tolist():
            ra, rb = find(int(rep[i])), find(i)
            if ra != rb:
                parent[rb] = ra
    clusters = sum(1 for i in range(n) if find(i) == i)
    return 1 - clusters / n


def shared_prefix(texts: list[str], words: int = 3) -> tuple[float, str]:
    if not texts:
        return 0.0, ""
    c = Counter(" ".join(normalise(t).split()[:words]) for t in texts)
    top, count = c.most_common(1)[0]
    return count / len(texts), top


# --------------------------------------------------------------------------------------------------
# Question 4: style


def family(text: str) -> str:
    s = text.strip()
    if "```" in s:
        return "code"
    if s[:1] in "{[" and s[-1:] in "}]":
        try:
            json.loads(s)
            return "json"
        except (ValueError, RecursionError):  # an answer of 50,000 brackets is text, not a crash
            pass
    lines = [ln for ln in s.split("\n") if ln.strip()]
    if sum(1 for ln in lines if _LIST_ITEM.match(ln)) >= 2:
        return "list"
    if "\n\n" in s:
        return "paragraphs"
    if len(lines) > 1:
        return "lines"
    return "phrase" if len(s.split()) <= 6 else "sentences"


def style_of(texts: list[str], lengths: list[int] | None = None) -> dict[str, Any]:
    n = len(texts) or 1
    fams = Counter(family(t) for t in texts)
    lens = lengths if lengths else [len(t.split()) for t in texts]
    mean = sum(lens) / len(lens) if lens else 0.0
    sd = math.sqrt(sum((x - mean) ** 2 for x in lens) / len(lens)) if lens else 0.0
    first = Counter((t.split() or [""])[0].lower().strip(".,:;!?") for t in texts)
    fw, fw_n = first.most_common(1)[0] if first else ("", 0)
    top, top_n = fams.most_common(1)[0] if fams else ("", 0)
    return {"families": {k: round(v / n, 4) for k, v in fams.most_common()}, "top_family": top,
            "top_family_share": round(top_n / n, 4), "length_cv": round(sd / mean, 3) if mean else 0.0,
            "length_unit": "tokens" if lengths else "words", "top_first_word": fw,
            "top_first_word_share": round(fw_n / n, 4)}


# --------------------------------------------------------------------------------------------------
# The SOP's starting point


def size_bucket(n: int) -> str:
    return "<5k" if n < 5000 else ("5-50k" if n <= 50_000 else ">50k")


def recommend(bucket: str, templated: bool, reasoning: str) -> tuple[dict[str, Any], list[Finding]]:
    """The SOP's starting point for (size bucket, templated, reasoning need); see the module doc."""
    out: list[Finding] = []
    if bucket == "<5k" and templated:
        lr, dropout = 5e-5, 0.1
        out.append(Finding("warn", "templated_small",
                           "<5k rows and templated: expect loss to collapse to 0 within 200 steps; "
                           "start lr 5e-5, dropout 0.1, and judge by the samples, not the loss"))
    elif bucket == "<5k":
        lr, dropout = 1e-4, 0.1
        out.append(Finding("warn", "small", "<5k rows: small data overfits fast; start lr 1e-4, dropout 0.1, "
                                            "and watch entropy"))
    elif templated:
        lr, dropout = 1e-4, (0.1 if bucket == "5-50k" else 0.05)
        out.append(Finding("warn", "templated", f"templated answers ({bucket} rows): loss will fall fast; "
                                                f"start lr 1e-4, dropout {dropout}, and watch the samples"))
    elif bucket == "5-50k":
        lr, dropout = 1e-4, 0.05
    else:
        lr, dropout = 2e-4, 0.05
    r = 16 if reasoning == "heavy" else 8
    if reasoning == "heavy":
        out.append(Finding("ok", "reasoning", "heavy reasoning (as the config says): start at r 16 "
                                              "(alpha 32) on q_proj, v_proj"))
    return {"learning_rate": lr, "lora_dropout": dropout, "r": r, "lora_alpha": 2 * r,
            "target_modules": ["q_proj", "v_proj"]}, out


def config_patch(cfg: RunConfig, rec: dict[str, Any]) -> dict[str, Any]:
    cur = {"training.learning_rate": cfg.training.learning_rate, "lora.lora_dropout": cfg.lora.lora_dropout,
           "lora.r": cfg.lora.r, "lora.lora_alpha": cfg.lora.alpha, "lora.target_modules": cfg.lora.target_modules}
    want = {"training.learning_rate": rec["learning_rate"], "lora.lora_dropout": rec["lora_dropout"],
            "lora.r": rec["r"], "lora.lora_alpha": rec["lora_alpha"], "lora.target_modules": rec["target_modules"]}
    return {k: v for k, v in want.items() if (float(cur[k]) != float(v) if isinstance(v, (int, float))
                                              else cur[k] != v)}


# --------------------------------------------------------------------------------------------------
# The audit


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


def audit(cfg: RunConfig, skip_bad: bool = False, *, tokenizer: Any = None, loaded: LoadedData | None = None
          ) -> AuditReport:
    """Answer the SOP's step-0 questions for `cfg.data` (see the module doc). Raises DataError on bad
    data (unless skip_bad). `tokenizer` / `loaded` may be passed in by a caller that has them (the
    trainer); otherwise they are loaded here. A tokenizer that cannot be loaded is a warning."""
    t0 = time.perf_counter()
    if loaded is None:
        loaded = load_training_data(cfg.data, skip_bad=skip_bad or None, seed=cfg.training.seed)
    rows = loaded.rows
    n = len(rows)
    findings: list[Finding] = []
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
        except Exception as e:  # offline hub id, missing files, ...: the rest of the audit still stands
            findings.append(Finding("warn", "no_tokenizer", f"tokenizer of {cfg.model.name_or_path} not available "
                                    f"({type(e).__name__}: {str(e)[:200]}); token counts and the chat-template "
                                    "check skipped"))
    ml = cfg.training.max_length
    if tokenizer is not None:
        from cockpit.data.template_check import measure

        sample = _sample(rows, TOKEN_SAMPLE, seed)
        m = measure(tokenizer, sample, max_length=ml, completion_only_loss=cfg.training.assistant_only_loss)
        tot = sorted(m.total)
        k = len(tot)
        if k:
            tokens = {"mean": round(sum(tot) / k, 2), "p50": _pct(tot, 0.5), "p95": _pct(tot, 0.95),
                      "max": float(tot[-1]), "truncated_share": round(sum(1 for x in tot if x > ml) / k, 4),
                      "dropped": sum(1 for p in m.prompt if p and p >= ml), "max_length": ml,
                      "prompt_mean": round(sum(m.prompt) / k, 2),
                      "answer_mean": round(sum(t - p for t, p in zip(m.total, m.prompt)) / k, 2),
                      "sampled_rows": k, "tokenizer": str(getattr(tokenizer, "name_or_path", "") or "")}
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
            findings.append(Finding("warn", "truncation",
                                    f"{tokens['truncated_share']:.1%} of samples are longer than training.max_length "
                                    f"{ml} (p95 {tokens['p95']:.0f}, max {tokens['max']:.0f}): they are cut; "
                                    "raise max_length?"))
        if tokens["dropped"]:
            findings.append(Finding("warn", "dropped", f"{tokens['dropped']} sample(s) have a prompt of "
                                    f">= {ml} tokens: no answer token is left after truncation (TRL drops them)"))
    if one_style and templated:
        findings.append(Finding("warn", "one_style", f"one style ({style['top_family']}, "
                                f"{style['top_family_share']:.0%}) and templated: outputs may turn rigid; "
                                "if samples all look alike, lower lora_alpha"))
    elif style["top_family_share"] < 0.5:
        findings.append(Finding("ok", "mixed_style", f"mixed styles (top family {style['top_family']} "
                                f"{style['top_family_share']:.0%}): loss falls slower; judge lr over the full sweep"))
    if template:
        findings += _template_findings(template, cfg)
    if loaded.skipped:
        findings.append(Finding("warn", "skipped", f"{loaded.skipped} malformed row(s) skipped "
                                f"(first: {loaded.bad[0]})"))
    findings.sort(key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
    worst = max((f.severity for f in findings), key=lambda s: SEVERITY_RANK.get(s, 0), default="ok")
    from cockpit.general.mix import describe, mix_in

    _, mix = mix_in(rows, cfg.data, loaded.format, seed)  # a bad data.general_path is refused here too
    return AuditReport(
        source=loaded.source, format=loaded.format, rows=n, eval_rows=len(loaded.eval_rows),
        skipped_rows=loaded.skipped, bad_rows=[str(b) for b in loaded.bad[:20]], size_bucket=bucket,
        duplicate_ratio=round(dup, 4), near_duplicate_ratio=round(near, 4), shared_prefix_ratio=round(shared, 4),
        top_prefix=top_prefix, templated=templated, tokens=tokens, style=style, one_style=one_style,
        reasoning_need=cfg.data.reasoning_need, recommended=rec, config_patch=patch, template=template,
        findings=findings, warnings=[f.message for f in findings if f.severity != "ok"], worst=worst,
        elapsed_s=round(time.perf_counter() - t0, 3), general_mix=describe(mix) if mix else "")


def _template_findings(t: dict[str, Any], cfg: RunConfig) -> list[Finding]:
    out = []
    if not t.get("applicable", True):
        return out
    n = t.get("rows_checked", 0)
    if not t.get("has_template", True):
        return [Finding("danger", "no_chat_template", "the tokenizer has no chat template: TRL cannot render chat "
                        "rows; set data.chat_template (a Jinja template or a file) or use text rows")]
    if t.get("render_errors"):
        out.append(Finding("danger", "template_error", t["problems"][0]))
    if not n:
        return out
    if t["mismatch_rows"]:
        out.append(Finding("danger", "template_mismatch",
                           f"chat template: the prompt rendered for training differs from the inference prompt "
                           f"in {t['mismatch_rows']} of {n} rows; the model would be trained on a context it "
                           f"does not see at inference ({t['sample'].get('first_difference', '')})"))
    elif t["token_mismatch_rows"]:
        out.append(Finding("warn", "token_boundary",
                           f"{t['token_mismatch_rows']} of {n} rows: the tokenized prompt is not a prefix of the "
                           "tokenized prompt+answer (tokens merge across the boundary)"))
    if t["masked_answer_rows"]:
        out.append(Finding("danger", "answer_masked",
                           f"{t['masked_answer_rows']} of {n} rows: part of the answer carries no loss"))
    if t["zero_loss_rows"] == n and n:
        out.append(Finding("danger", "no_loss", "no token carries loss in any row: nothing would be learned"))
    if not cfg.training.assistant_only_loss:
        out.append(Finding("warn", "loss_on_prompt", "training.assistant_only_loss is false: the prompt tokens "
                           f"carry loss too ({t['loss_share']:.0%} of tokens)"))
    elif t["loss_before_answer_rows"]:
        out.append(Finding("danger" if not t["mismatch_rows"] else "warn", "loss_on_prompt",
                           f"{t['loss_before_answer_rows']} of {n} rows: prompt or template text before the answer "
                           f"carries loss ({t['sample'].get('loss_text', '')[:40]!r}...)"))
    return out


# --------------------------------------------------------------------------------------------------
# Output


def main(cfg: RunConfig, *, as_json: bool = False, skip_bad: bool = False) -> int:
    """`cockpit check-data`: print the audit; exit 0 ok, 1 warnings, 2 refused (see the module doc)."""
    try:
        rep = audit(cfg, skip_bad=skip_bad)
    except DataError as e:
        if as_json:
            print(json.dumps({"error": str(e), "problems": [str(p) for p in e.problems[:20]],
                              "problem_count": len(e.problems)}, indent=1))
        print(f"error: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(rep.to_dict(), indent=1))
    else:
        print(render(rep, cfg))
    return rep.exit_code


MARK = {"ok": "·", "warn": "▲", "danger": "✖"}


def _num(x: float) -> str:
    """Learning rates the way people write them: 5e-5, 3e-4, 0.1."""
    if x and abs(x) < 0.01:
        m, e = f"{x:e}".split("e")
        return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
    return f"{x:g}"


def render(r: AuditReport, cfg: RunConfig | None = None) -> str:
    """The report as a compact table (fits 80 columns, except long paths and diffs)."""
    t, s, tp = r.tokens, r.style, r.template
    rows_s = f"{r.rows} rows" + (f" + {r.eval_rows} eval" if r.eval_rows else "") + \
        (f", {r.skipped_rows} malformed skipped" if r.skipped_rows else "")
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
    q(2, "templated", "YES" if r.templated else "no",
      f"dup {r.duplicate_ratio:.0%} · near-dup {r.near_duplicate_ratio:.0%} · "
      f"opening {r.shared_prefix_ratio:.0%} {r.top_prefix[:16]!r}")
    if t:
        fits = "cut" if t["truncated_share"] > 0.01 else "fits"
        q(3, "tokens", fits, f"mean {t['mean']:.0f} · p95 {t['p95']:.0f} · max {t['max']:.0f} · "
                             f"{t['truncated_share']:.1%} > max_length {t['max_length']}"
                             + (f" ({t['sampled_rows']} sampled)" if t["sampled_rows"] < r.rows else ""))
    else:
        q(3, "tokens", "?", "not measured (no tokenizer, or the chat template failed)")
    q(4, "one style", "yes" if r.one_style else ("mixed" if s["top_family_share"] < 0.5 else "no"),
      f"{s['top_family']} {s['top_family_share']:.0%} · length cv {s['length_cv']:.2f} · "
      f"first word {s['top_first_word'][:12]!r} {s['top_first_word_share']:.0%}")
    q(5, "reasoning", r.reasoning_need, "data.reasoning_need (you say)")
    if tp:
        out.append("")
        if not tp.get("applicable", True):
            out.append("chat template  not used (text rows: every token carries loss)")
        elif not tp.get("has_template", True):
            out.append("chat template  NONE on this tokenizer")
        else:
            sm = tp.get("sample", {})
            same = ("training == inference" if tp["prompt_match"] else
                    f"DIFFERS in {tp['mismatch_rows']} of {tp['rows_checked']} rows")
            masked = "answer only" if tp["masked_ok"] else "CHECK MASKING"
            out.append(f"chat template  prompt {same}; loss on {tp['loss_share']:.0%} of tokens ({masked})")
            out.append(f"               e.g. row {sm.get('index', 0) + 1}: {sm.get('loss_tokens', 0)} of "
                       f"{sm.get('total_tokens', 0)} tokens carry loss: {sm.get('loss_text', '')[:40]!r}")
            if sm.get("diff"):
                out.append("")
                out.append(sm["diff"])
                out.append(sm.get("first_difference", ""))
    rec = r.recommended
    out.append("")
    cur = {}
    if cfg is not None:
        cur = {"learning_rate": cfg.training.learning_rate, "lora_dropout": cfg.lora.lora_dropout,
               "r": cfg.lora.r, "lora_alpha": cfg.lora.alpha, "target_modules": cfg.lora.target_modules}
    out.append("SOP start  " + "   ".join(
        f"{k} {_fmt(v)}" + (f" (now {_fmt(cur[k])})" if k in cur and _fmt(cur[k]) != _fmt(v) else "")
        for k, v in rec.items() if k != "target_modules"))
    out.append(f"           target_modules {_fmt(rec['target_modules'])}"
               + (f" (now {_fmt(cur['target_modules'])})" if cur and _fmt(cur['target_modules'])
                  != _fmt(rec['target_modules']) else ""))
    if r.findings:
        out.append("")
    for f in r.findings:
        out.extend(textwrap.wrap(f.message, width=96, initial_indent=f"{MARK.get(f.severity, '?')} {f.severity:<6} ",
                                 subsequent_indent=" " * 9, break_on_hyphens=False))
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
