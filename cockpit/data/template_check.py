"""The chat-template check, and the token counts the audit reports, done as TRL does them.

TRL (SFTTrainer, conversational prompt-completion rows) tokenizes each row twice:

    prompt_ids = apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)    # = inference
    full_ids   = apply_chat_template(prompt + completion, tokenize=True)                 # = training
    prompt_len = common_prefix_length(prompt_ids, full_ids)
    loss on full_ids[prompt_len:]  (completion_only_loss; else on every token), then truncation to max_length

So the model is trained on `full_ids` and, at inference, continues `prompt_ids`. Two things must hold:

1. the prompt part of the training text (everything before the answer) equals the inference text
   byte for byte, else the model is trained on a context it never sees at inference (or the other way
   round); any difference is shown as a unified diff plus the first differing bytes;
2. loss falls on the answer (and the template's end-of-turn), not on the prompt or template tokens
   before the answer, not on none of the answer, and not on zero tokens (e.g. after truncation).

`measure()` renders and tokenizes every row (batched: fast), and returns per-row lengths for the
audit's token statistics plus a `TemplateCheck` with the counts of rows that break 1 or 2 and the
details of one sample row (the first bad one, else the first row).

Over 350 lines on purpose: rendering as TRL renders, the masks and the token counts share one pass over
the rows (tokenizing twice would double check-data's time on a large set).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

SHOW = 400
"""Characters of rendered text kept in the report for display."""


@dataclass
class TemplateCheck:
    applicable: bool = True
    """False for text rows (language modelling: no template, every token carries loss)."""
    has_template: bool = True
    rows_checked: int = 0
    prompt_match: bool = True
    """Every checked row: the prompt part at training == the inference prompt, byte for byte."""
    mismatch_rows: int = 0
    """Rows whose training prompt part differs from the inference prompt (text)."""
    token_mismatch_rows: int = 0
    """Rows whose tokenized inference prompt is not a prefix of the tokenized training text (TRL warns)."""
    loss_before_answer_rows: int = 0
    """Rows where prompt / template text before the answer carries loss."""
    masked_answer_rows: int = 0
    """Rows where part of the answer carries no loss."""
    zero_loss_rows: int = 0
    """Rows with no loss token at all after truncation to max_length (TRL drops them)."""
    loss_tokens: int = 0
    """Tokens carrying loss, summed over the checked rows (after truncation)."""
    total_tokens: int = 0
    """Tokens after truncation, summed over the checked rows."""
    loss_share: float = 0.0
    completion_only_loss: bool = True
    masked_ok: bool = True
    """Loss on the answer only, and on at least one token, in every checked row."""
    sample: dict[str, Any] = field(default_factory=dict)
    """One row in detail: index, training_text, inference_text, diff, first_difference, loss_text,
    loss_tokens, prompt_tokens, total_tokens, answer_tokens."""
    render_errors: int = 0
    """Rows the chat template refuses to render (a `raise_exception` in the template, ...)."""
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Measured:
    """Per-row token counts (after the chat template, before truncation) and the template check."""

    total: list[int]
    """Tokens per sample as trained (prompt + completion, or the text + eos)."""
    prompt: list[int]
    """Tokens before the loss starts (the common prefix TRL computes); 0 for text rows."""
    check: TemplateCheck


def _template(tokenizer) -> Any:
    return getattr(tokenizer, "chat_template", None)


def render(tokenizer, rows: list[dict]) -> tuple[list[str], list[str]]:
    """(training texts, inference texts) for conversational rows, as TRL renders them."""
    full = tokenizer.apply_chat_template([r["prompt"] + r["completion"] for r in rows], tokenize=False)
    infer = tokenizer.apply_chat_template([r["prompt"] for r in rows], tokenize=False, add_generation_prompt=True)
    return list(full), list(infer)


def _render_each(tokenizer, rows: list[dict]) -> tuple[list[int], list[str], list[str], list[tuple[int, str]]]:
    """Row by row, after a batch failed: (kept indices, full, infer, [(index, error)])."""
    keep, full, infer, errors = [], [], [], []
    for i, r in enumerate(rows):
        try:
            f = tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False)
            p = tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True)
        except Exception as e:  # jinja raise_exception(...), TemplateError, ...
            errors.append((i, f"{type(e).__name__}: {e}"))
            continue
        keep.append(i)
        full.append(f)
        infer.append(p)
    return keep, full, infer, errors


def _ids(enc) -> list[list[int]]:
    return enc["input_ids"]


def _lcp(a: list[int], b: list[int]) -> int:
    if b[: len(a)] == a:
        return len(a)
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _answer_start(full: str, answer: str, infer: str) -> int:
    """Character where the answer starts in the training text (-1 when the template rewrote it)."""
    for a in (answer, answer.strip()):
        if a:
            i = full.rfind(a)
            if i >= 0:
                return i
    return -1


def first_difference(a: str, b: str, width: int = 24) -> str:
    """'at byte N: training '…x…' vs inference '…y…'' for two texts, '' when equal."""
    if a == b:
        return ""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    lo = max(0, n - width)
    byte = len(a[:n].encode())
    return f"first difference at byte {byte}: training {a[lo : n + width]!r} vs inference {b[lo : n + width]!r}"


def unified(train_part: str, infer: str) -> str:
    """A unified diff, training (prompt part) -> inference; whitespace-only changes made visible."""
    a, b = train_part.splitlines(keepends=True), infer.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, "training (prompt part)", "inference (add_generation_prompt=True)", n=2):
        body = line.rstrip("\n")
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            body = line[0] + repr(line[1:].rstrip("\n"))  # quoted: trailing spaces and tabs show
        out.append(body)
    return "\n".join(out)


def measure(tokenizer, rows: list[dict], *, max_length: int, completion_only_loss: bool = True) -> Measured:
    """Render + tokenize `rows` as TRL would; see the module doc."""
    if not rows:
        return Measured([], [], TemplateCheck(rows_checked=0))
    if "text" in rows[0]:
        eos = getattr(tokenizer, "eos_token", None) or ""
        texts = [r["text"] if r["text"].endswith(eos) else r["text"] + eos for r in rows]
        lengths = [len(x) for x in _ids(tokenizer(texts))]
        loss = sum(min(x, max_length) for x in lengths)
        return Measured(
            lengths,
            [0] * len(lengths),
            TemplateCheck(
                applicable=False,
                rows_checked=len(rows),
                loss_tokens=loss,
                total_tokens=loss,
                loss_share=1.0 if loss else 0.0,
                zero_loss_rows=sum(1 for x in lengths if x == 0),
            ),
        )
    if not _template(tokenizer):
        texts = ["\n".join(m["content"] for m in r["prompt"]) + "\n" for r in rows]
        answers = [r["completion"][0]["content"] for r in rows]
        p = [len(x) for x in _ids(tokenizer(texts, add_special_tokens=False))]
        a = [len(x) for x in _ids(tokenizer(answers, add_special_tokens=False))]
        return Measured(
            [x + y for x, y in zip(p, a)],
            p,
            TemplateCheck(
                has_template=False,
                prompt_match=False,
                masked_ok=False,
                rows_checked=0,
                problems=[
                    "the tokenizer has no chat template: TRL cannot render conversational rows "
                    "(set data.chat_template, or use text rows); token counts are approximate"
                ],
            ),
        )

    errors: list[tuple[int, str]] = []
    try:
        full_t, infer_t = render(tokenizer, rows)
    except Exception:
        keep, full_t, infer_t, errors = _render_each(tokenizer, rows)
        rows = [rows[i] for i in keep]
        if not rows:
            i, msg = errors[0]
            return Measured(
                [],
                [],
                TemplateCheck(
                    prompt_match=False,
                    masked_ok=False,
                    render_errors=len(errors),
                    problems=[f"the chat template fails on every row (row {i + 1}: {msg})"],
                ),
            )
    try:
        enc = tokenizer(full_t, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
    except (NotImplementedError, ValueError, TypeError):  # slow tokenizers have no offsets
        enc, offsets = tokenizer(full_t, add_special_tokens=False), None
    full_ids = _ids(enc)
    infer_ids = _ids(tokenizer(infer_t, add_special_tokens=False))

    chk = TemplateCheck(rows_checked=len(rows), completion_only_loss=completion_only_loss)
    totals, prompts = [], []
    first_bad = -1
    for i, (row, ft, it, fi, ii) in enumerate(zip(rows, full_t, infer_t, full_ids, infer_ids)):
        answer = row["completion"][0]["content"]
        a = _answer_start(ft, answer, it)
        train_part = ft[:a] if a >= 0 else ft[: len(it)]
        bad = False
        if train_part != it:
            chk.mismatch_rows += 1
            bad = True
        lcp = _lcp(ii, fi)
        if lcp < len(ii):
            chk.token_mismatch_rows += 1
        n = len(fi)
        kept = min(n, max_length)
        loss = max(0, kept - lcp) if completion_only_loss else kept
        chk.loss_tokens += loss
        if loss:  # TRL drops a row with no loss token: it is not trained on
            chk.total_tokens += kept
        if loss == 0:
            chk.zero_loss_rows += 1
            bad = True
        if completion_only_loss and offsets is not None and a >= 0:
            start = offsets[i][lcp][0] if lcp < n else len(ft)
            if ft[start:a].strip():
                chk.loss_before_answer_rows += 1
                bad = True
            elif a < start and ft[a:start].strip():
                chk.masked_answer_rows += 1
                bad = True
        totals.append(n)
        prompts.append(lcp if completion_only_loss else 0)
        if bad and first_bad < 0:
            first_bad = i
    if not completion_only_loss:
        chk.loss_before_answer_rows = len(rows)
    chk.prompt_match = chk.mismatch_rows == 0
    chk.loss_share = chk.loss_tokens / chk.total_tokens if chk.total_tokens else 0.0
    chk.masked_ok = (
        completion_only_loss
        and chk.zero_loss_rows == 0
        and chk.loss_before_answer_rows == 0
        and chk.masked_answer_rows == 0
    )
    idx = first_bad if first_bad >= 0 else 0
    chk.sample = _sample(
        tokenizer,
        rows[idx],
        idx,
        full_t[idx],
        infer_t[idx],
        full_ids[idx],
        infer_ids[idx],
        offsets[idx] if offsets is not None else None,
        max_length,
        completion_only_loss,
    )
    chk.problems = _problems(chk, len(rows), max_length)
    if errors:
        chk.render_errors = len(errors)
        chk.masked_ok = False
        chk.problems.insert(
            0,
            f"the chat template fails on {len(errors)} row(s) (row {errors[0][0] + 1}: "
            f"{errors[0][1]}); TRL would stop on them",
        )
    return Measured(totals, prompts, chk)


def _sample(tokenizer, row, idx, ft, it, fi, ii, offs, max_length, completion_only_loss) -> dict[str, Any]:
    answer = row["completion"][0]["content"]
    a = _answer_start(ft, answer, it)
    train_part = ft[:a] if a >= 0 else ft[: len(it)]
    lcp = _lcp(ii, fi)
    kept = min(len(fi), max_length)
    if not completion_only_loss:
        loss_text, loss = tokenizer.decode(fi[:kept]), kept
    else:
        loss = max(0, kept - lcp)
        if offs is not None:
            start = offs[lcp][0] if lcp < len(fi) else len(ft)
            end = offs[kept - 1][1] if kept > lcp else start
            loss_text = ft[start:end]
        else:
            loss_text = tokenizer.decode(fi[lcp:kept])
    answer_tokens = len(_ids(tokenizer([answer], add_special_tokens=False))[0])
    return {
        "index": idx,
        "training_text": train_part[-SHOW:],
        "inference_text": it[-SHOW:],
        "diff": unified(train_part, it) if train_part != it else "",
        "first_difference": first_difference(train_part, it),
        "loss_text": loss_text[:SHOW],
        "loss_tokens": loss,
        "prompt_tokens": lcp if completion_only_loss else 0,
        "total_tokens": len(fi),
        "answer_tokens": answer_tokens,
        "token_prefix_ok": lcp == len(ii),
    }


def _problems(c: TemplateCheck, n: int, max_length: int) -> list[str]:
    out = []
    if c.mismatch_rows:
        out.append(
            f"{c.mismatch_rows} of {n} rows: the prompt rendered at training time differs from the "
            "inference prompt (add_generation_prompt=True); see the diff"
        )
    elif c.token_mismatch_rows:
        out.append(
            f"{c.token_mismatch_rows} of {n} rows: the tokenized prompt is not a prefix of the tokenized "
            "prompt+answer (tokens merge across the boundary); TRL starts the loss where they diverge"
        )
    if not c.completion_only_loss:
        out.append("training.assistant_only_loss is false: the prompt tokens carry loss too")
    elif c.loss_before_answer_rows:
        out.append(f"{c.loss_before_answer_rows} of {n} rows: prompt/template text before the answer carries loss")
    if c.masked_answer_rows:
        out.append(f"{c.masked_answer_rows} of {n} rows: part of the answer carries no loss")
    if c.zero_loss_rows:
        out.append(
            f"{c.zero_loss_rows} of {n} rows have 0 loss tokens after truncation to max_length {max_length} "
            "(the prompt fills it; TRL drops them)"
        )
    return out


def check_template(
    tokenizer, row: dict, *, max_length: int = 1 << 30, completion_only_loss: bool = True
) -> dict[str, Any]:
    """The check on one conversational row: the `TemplateCheck` as a dict, with the sample flattened in
    (`prompt_match`, `diff`, `loss_tokens`, `total_tokens`, `masked_ok`, ...)."""
    chk = measure(tokenizer, [row], max_length=max_length, completion_only_loss=completion_only_loss).check
    d = chk.to_dict()
    d.update({k: v for k, v in chk.sample.items() if k not in ("total_tokens", "loss_tokens")})
    d["loss_tokens"] = chk.sample.get("loss_tokens", 0)
    d["total_tokens"] = chk.sample.get("total_tokens", 0)
    return d
