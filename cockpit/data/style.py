"""SOP step 0, question 4: one style? Each answer's format family, and how much the lengths vary."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


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
    return {
        "families": {k: round(v / n, 4) for k, v in fams.most_common()},
        "top_family": top,
        "top_family_share": round(top_n / n, 4),
        "length_cv": round(sd / mean, 3) if mean else 0.0,
        "length_unit": "tokens" if lengths else "words",
        "top_first_word": fw,
        "top_first_word_share": round(fw_n / n, 4),
    }
