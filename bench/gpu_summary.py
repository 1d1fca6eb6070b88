"""The Markdown summary of bench/gpu_check.py's JSON: one table of the checks, then each check's numbers."""

from __future__ import annotations

import json


def _gib(x) -> str:
    return "-" if not isinstance(x, (int, float)) else f"{x / 2**30:.2f} GiB"


def _pct(x) -> str:
    return "-" if not isinstance(x, (int, float)) else f"{x:+.1%}"


def _ok(rec: dict) -> str:
    if rec.get("ok") is None:
        return "not judged"
    if "skipped" in rec:
        return "**skipped**"
    return "pass" if rec.get("ok") else "**FAIL**"


def headline(name: str, r: dict) -> str:
    """The one line of numbers that says what the check found."""
    if r.get("error") or r.get("skipped"):
        return str(r.get("error") or r.get("skipped"))[:160]
    if name == "setup":
        return ", ".join(f"{k}: {v['params']:,} params" for k, v in r.get("models", {}).items())
    if name in ("lora_bf16", "qlora_nf4"):
        step = r.get("median_step_s")
        tps = r.get("tokens_per_s")
        return (
            f"{r.get('steps')} steps, {'-' if step is None else f'{step * 1000:.1f} ms'}/step, "
            f"{'-' if tps is None else f'{tps:,.0f}'} tokens/s, peak NVML {_gib(r.get('peak_vram_nvml'))}, "
            f"torch {_gib(r.get('peak_vram_torch'))}, RSS {_gib(r.get('peak_rss'))}"
        )
    if name == "readme_install":
        return (
            f"pip -e .[train] offline keeps torch: {r.get('keeps_torch')}; would install "
            f"{len(r.get('would_install', []))} packages; a --system-site-packages venv sees torch "
            f"{r.get('system_site_venv_torch')}"
        )
    if name == "estimate":
        return "; ".join(
            f"{k}: {_gib(v.get('estimate_total'))} vs {_gib(v.get('measured_peak'))} ({_pct(v.get('error'))})"
            for k, v in r.items()
            if isinstance(v, dict) and "estimate_total" in v
        )
    if name == "overhead":
        cells = [
            f"{v}/a {r[v]['ratio']:.4f} ± {r[v]['se']:.2%}" for v in ("a2", "b", "c") if isinstance(r.get(v), dict)
        ]
        return ", ".join(cells) + f" ({min(r.get('steps_per_variant', {0: 0}).values())} steps per variant)"
    if name == "guards":
        return "; ".join(
            f"{k}: {g.get('guard_rule')} at step {g.get('guard_step')}, {g.get('state')}, kept "
            f"{(g.get('last_good_checkpoint') or '-').rsplit('/', 1)[-1]}"
            for k, g in ((k, r.get(k) or {}) for k in ("nan", "explosion"))
        )
    if name == "controls":
        return ", ".join(
            f"{c['action']} {c.get('steps_ended_before_ack', '?')} step(s), {c.get('ack_latency_s', '?')} s"
            for c in r.get("commands", [])
        )
    if name == "merge_export":
        m, e = r.get("merge_checks") or {}, r.get("export_checks") or {}
        return (
            f"merge max |logit diff| {m.get('max_abs_logit_diff', '-')}, GGUF {_gib(r.get('gguf_bytes'))} "
            f"max |logit diff| {e.get('max_abs_logit_diff', '-')}, read back {r.get('read_back', {}).get('tensors')} tensors"
        )
    return ""


def markdown(data: dict) -> str:
    env = data.get("environment", {})
    pk = env.get("packages", {})
    lines = [
        f"## GPU check ({data.get('mode')}), {data.get('started')}",
        "",
        f"Device: {env.get('gpu') or 'CPU'}"
        + (f", {_gib(env.get('gpu_memory'))}, driver {env.get('driver')}" if env.get("gpu") else "")
        + f"; Python {env.get('python')}; "
        + ", ".join(f"{k} {v}" for k, v in pk.items() if v),
        f"Elapsed {data.get('elapsed_s', '-')} s of a {data.get('budget_s'):.0f} s budget; "
        f"{'all checks passed' if data.get('passed') else 'not all checks passed (or still running)'}.",
        "",
        "| check | result | numbers | seconds |",
        "|---|---|---|---|",
    ]
    for name, rec in data.get("checks", {}).items():
        lines.append(f"| {name} | {_ok(rec)} | {headline(name, rec)} | {rec.get('seconds', '-')} |")
    est = data.get("checks", {}).get("estimate", {})
    split = [(k, v["by_part"]) for k, v in est.items() if isinstance(v, dict) and v.get("by_part")]
    if split:
        lines += ["", "| estimate by part | estimate | measured | error |", "|---|---|---|---|"]
        for run, parts in split:
            for part, p in parts.items():
                lines.append(f"| {run}: {part} | {_gib(p['estimate'])} | {_gib(p['measured'])} | {_pct(p['error'])} |")
    failed = {k: v for k, v in data.get("checks", {}).items() if v.get("ok") is False and "skipped" not in v}
    for name, rec in failed.items():
        detail = {k: v for k, v in rec.items() if k not in ("tail", "traceback")}
        lines += ["", f"### {name}: failed", "", "```", json.dumps(detail, indent=1, default=str)[:3000]]
        if rec.get("tail") or rec.get("traceback"):
            lines += ["--- output ---", str(rec.get("tail") or rec.get("traceback"))[-2000:]]
        lines.append("```")
    return "\n".join(lines) + "\n"
