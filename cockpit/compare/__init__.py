"""`cockpit compare RUN RUN ... [--html FILE]`: runs overlaid (loss, eval_loss, grad_norm, entropy) with the
config keys that differ and each run's verdicts. A run is a run directory, a Hugging Face
`trainer_state.json` (or a folder holding one), a sweep directory (its trials) or a study directory.
`cockpit report` on a sweep or study directory prints the same."""

from __future__ import annotations

import sys
from pathlib import Path

from cockpit.compare.sources import CompareError, expand
from cockpit.report.output import bad_out, show_and_save, terminal_width
from cockpit.run_groups import is_run_group as is_multi_run_dir

__all__ = ["main", "is_multi_run_dir"]


def main(paths: list[str], out: str | None = None, min_runs: int = 2) -> int:
    """Print the comparison; with `out` (.html or .md) save it too. Exit 2 on bad arguments."""
    from cockpit.logs import LogError, resolve

    if bad_out(out, ""):
        return 2
    try:
        ledgers: dict = {}
        sources, notes = expand(paths, ledgers)
        if len(sources) < min_runs:
            have = f"{len(sources)} run" + ("s" if len(sources) != 1 else "")
            raise CompareError(
                f"{' '.join(paths)}: {have} with a log to compare; give at least {min_runs} "
                "(run directories, trainer_state.json files, or a sweep or study directory)"
            )
        histories, kinds = [], []
        for src in sources:
            log = resolve(src.path)
            histories.append(log.history())
            kinds.append(log.kind)
            if log.stats.bad:
                notes.append(f"{src.label}: {log.stats.bad} unreadable line(s) skipped")
    except (CompareError, LogError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from cockpit.compare.model import build_compare

    title = ", ".join(Path(p).name for p in paths) if len(paths) <= 3 else f"{len(sources)} runs"
    rep = build_compare(sources, histories, kinds, notes, title)
    if len(ledgers) == 1:  # the comparison of one study: its stages too
        from cockpit.compare.study_rows import study_rows

        rep.stages, rep.study_state = study_rows(next(iter(ledgers.values())))
    return show_and_save(rep, out, "cockpit.compare", terminal_width())
