"""SOP step 0, question 2: are the answers templated? Exact and near duplicates (MinHash), shared openings.

See `cockpit.data.audit` for the definitions and the thresholds."""

from __future__ import annotations

import re
import zlib
from collections import Counter

_NUM = re.compile(r"\d+")
_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


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
        h[long_] = (
            ids[p] * np.uint64(0x9E3779B97F4A7C15)
            + ids[p + 1] * np.uint64(0xC2B2AE3D27D4EB4F)
            + ids[p + 2] * np.uint64(0x165667B19E3779F9)
        )
    h[~long_] = np.asarray(short, dtype=np.uint64)[-1 - pos[~long_]] * np.uint64(0xFF51AFD7ED558CCD)
    rng = np.random.default_rng(1234)
    a = rng.integers(1, 2**63, size=k, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=k, dtype=np.uint64)
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
        block = np.ascontiguousarray(sig[:, band * r : (band + 1) * r]).view(np.dtype((np.void, 8 * r))).ravel()
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
