"""Score the advisor on the second set of real logs (tests/fixtures/real-logs-2), labelled from their
numbers before the advisor read them (INDEX.md there). Prints one row a log and the score.

    python bench/bench_real_logs_2.py           # the table and the score
    python bench/bench_real_logs_2.py --json

A log scores when the advisor's worst severity is in its label's class (ok: nothing above ok; "ok or
warn"; warn; "warn+": warn or worse; "danger+": danger or critical) and, where the label names the
problem, the headline finding is a rule for that problem (HEADLINE below, the label's words in rules).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "fixtures" / "real-logs-2"
CLASSES = {
    "ok": {"ok"},
    "ok or warn": {"ok", "warn"},
    "warn": {"warn"},
    "warn+": {"warn", "danger", "critical"},
    "danger+": {"danger", "critical"},
}
HEADLINE = {
    "loss diverged": {"loss_diverged", "loss_jump", "divergence"},
    "memorisation over epochs": {"memorisation"},
    "reward not improving": {"rl_reward_flat", "rl_no_reward_signal"},
}
"""The problem a label names -> the rules whose headline says it."""


def labels() -> dict[str, tuple[str, str]]:
    """File -> (severity class, named problem or "") from INDEX.md's table."""
    out = {}
    for line in (SET / "INDEX.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 5 and cells[1].endswith(".json"):
            label = re.sub(r"\s*\(.*?\)", "", cells[4])
            cls, _, problem = (p.strip() for p in label.partition(":"))
            problem = problem.split(",")[0].strip()
            out[cells[1]] = (cls, problem)
    return out


def score() -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from cockpit.advisor import advise
    from cockpit.logs import load_history
    from cockpit.run_kind import RunKind

    rows = []
    for name, (cls, problem) in sorted(labels().items()):
        h = load_history(SET / name)[0]
        a = advise(h)
        head = a.findings[0].rule if a.findings and a.worst != "ok" else None
        ok_class = a.worst in CLASSES[cls]
        ok_head = not problem or head in HEADLINE[problem]
        rows.append(
            {
                "log": name,
                "kind": RunKind.of(h).method,
                "label": f"{cls}" + (f": {problem}" if problem else ""),
                "worst": a.worst,
                "headline": head,
                "hit": ok_class and ok_head,
            }
        )
    return rows


def main() -> None:
    rows = score()
    hits = sum(r["hit"] for r in rows)
    if "--json" in sys.argv:
        print(json.dumps({"rows": rows, "score": [hits, len(rows)]}, indent=1))
        return
    print("| log | kind | label | advisor | headline | right |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['log']} | {r['kind']} | {r['label']} | {r['worst']} | {r['headline'] or '-'} | {'yes' if r['hit'] else 'NO'} |"
        )
    print(f"\nscore: {hits}/{len(rows)} ({hits / len(rows):.0%})")


if __name__ == "__main__":
    main()
