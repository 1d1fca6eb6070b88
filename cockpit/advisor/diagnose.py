"""`cockpit diagnose PATH [--json]`: the SOP's reading of a run or of any HF trainer_state.json.

The timeline is built by evaluating the rules at cursors along the run (as a replay would), so a
finding that came and went (a grad_norm burst at step 40 that settled) is reported with the steps it
stood, not only what the end of the run looks like.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from cockpit.advisor import advise, evaluate
from cockpit.history import History
from cockpit.severity import ICON, RANK

CURSORS = 24


WINDOW = 400
"""Logged points a cursor looks back over: the windowed rules (flat, sawtooth, high) only read the recent
past, and the whole-run scans (explosion, collapse, NaN) are evaluated once over the full history."""


def timeline(history: History, config=None, final: list | None = None) -> list[dict[str, Any]]:
    """Per rule: worst severity, first and last step it stood, the last message and evidence.
    `final`: the findings at the end of the run when the caller has them already."""
    n = len(history)
    marks = sorted({max(1, round(n * k / CURSORS)) for k in range(1, CURSORS + 1)}) if n else []
    out: dict[str, dict[str, Any]] = {}
    for cut in marks:
        h = history if cut == n else history.window(max(0, cut - WINDOW), cut)
        findings = final if cut == n and final is not None else evaluate(h, config)[1]
        for f in findings:
            first = f.first_step if f.first_step is not None else h.step
            last = f.last_step if f.last_step is not None else h.step
            cur = out.get(f.rule)
            if cur is None:
                out[f.rule] = {**f.to_dict(), "first_step": first, "last_step": last}
            else:
                cur["first_step"] = min(cur["first_step"], first)
                cur["last_step"] = max(cur["last_step"], last)
                if RANK[f.severity] >= RANK[cur["severity"]]:
                    cur.update(severity=f.severity, message=f.message, evidence=f.evidence)
                    cur.pop("folded", None)
                    if f.folded:
                        cur["folded"] = [k.to_dict() for k in f.folded]
    return sorted(out.values(), key=lambda d: (d["first_step"], -RANK[d["severity"]]))


def report(history: History, config=None) -> dict[str, Any]:
    a = advise(history, config)
    from cockpit.advisor.context import Context

    return {
        "lm_loss": Context.build(history, config).language_model_loss,
        "steps": history.step,
        "logged": len(history),
        "state": history.state,
        "stage": a.stage,
        "stage_name": a.stage_name,
        "stage_needs": a.stage_needs,
        "verdict": a.verdict,
        "worst": a.worst,
        "standing": [f.to_dict() for f in a.findings],
        "timeline": timeline(history, config, final=a.findings),
        "next_action": None
        if a.next_action is None
        else {
            "id": a.next_action.id,
            "label": a.next_action.label,
            "description": a.next_action.description,
            "command": a.next_action.command,
            "config_patch": a.next_action.config_patch,
        },
    }


def main(path: str, as_json: bool = False, preload=None) -> int:
    """`preload`: a `cockpit.logs.preload.Preload` the CLI started before importing this module."""
    from cockpit.logs import LogError, load_history

    try:
        history, log = preload.result() if preload is not None else load_history(path)
    except (LogError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = report(history)
    data["source"] = str(log.source)
    data["skipped_lines"] = log.stats.bad
    data.update(log.facts())
    if as_json:
        print(json.dumps(data, indent=1, default=str))
    else:
        _print(data, log.title)
    return exit_code(data)


def exit_code(data: dict[str, Any]) -> int:
    """3 when the reading's worst standing finding is danger or critical, else 0."""
    return 3 if data["worst"] in ("danger", "critical") else 0


def _print(d: dict[str, Any], title: str) -> None:
    p = print
    p(f"{title}: {d['logged']} logged steps, last step {d['steps']}, state {d['state']}")
    if d["skipped_lines"]:
        p(f"  ({d['skipped_lines']} unreadable line(s) skipped)")
    for note in d.get("notes", ()):
        p(f"  note: {note}")
    if d.get("not_in_format"):
        p(f"  note: a {d['format']} log carries no {', '.join(d['not_in_format'])}: no finding can come from it")
    if not d.get("lm_loss", True):
        p("  note: the loss goes negative: not a language-model SFT log; loss rules are skipped")
    p(f"stage {d['stage']} ({d['stage_name']})")
    for n in d["stage_needs"]:
        p(f"  needs: {n}")
    p("")
    if d["timeline"]:
        p("findings timeline:")
        for f in d["timeline"]:
            span = f"step {f['first_step']}" + (f"-{f['last_step']}" if f["last_step"] != f["first_step"] else "")
            p(f"  {ICON[f['severity']]} {f['severity']:<8} {span:<16} {f['rule']:<22} {f['message']}")
            for k in f.get("folded", ()):  # symptoms the cause explains: their own advice is moot
                p(f"  {'':<28}   explains {k['rule']}: {k['message']}")
    else:
        p("findings timeline: none")
    p("")
    p(f"verdict: {d['verdict']}")
    a = d["next_action"]
    if a:
        from cockpit.config_patch import patch_to_set_args

        how = (
            f" (command {a['command']['cmd']} {a['command'].get('value', '')})".rstrip() + ")"
            if a["command"]
            else f" ({patch_to_set_args(a['config_patch'])})"
            if a["config_patch"]
            else ""
        )
        p(f"next action: {a['label']}: {a['description']}{how}")
