"""The README's "what the advisor knows" table, made from the rule registry so it cannot go stale.

python -m cockpit.advisor.table     # prints the table; tests/test_causes.py checks the README holds it
"""

from __future__ import annotations

from cockpit.advisor import RULES
from cockpit.advisor.causes import EXPLAINS


def markdown() -> str:
    rows = [
        "| rule | kinds | what the SOP (or the trainer's docs) says | severity | action | folds under it |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        folds = ", ".join(f"`{x}`" for x in EXPLAINS.get(r.id, ()))
        kinds = ", ".join(r.kinds) or "all"
        if r.without:
            kinds += f" (no {', '.join(r.without)})"
        rows.append(f"| `{r.id}` | {kinds} | [{r.sop_line}]({r.sop}) | {r.severity} | {r.action} | {folds} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
