"""The log formats the cockpit reads, in the order `resolve` tries them, and the contract each keeps.

To add a format: write one module here and add one line to FORMATS.

A format module exposes:

    NAME: str
        Short and stable ("llamafactory"): the `source` of the `run_started` event it yields, and what
        `cockpit diagnose --json` reports as the log's format.
    TITLE: str
        What a person calls it ("LLaMA-Factory trainer_log.jsonl"), for the list of known formats that a
        refusal prints.
    sniff(path: Path, head: bytes) -> bool
        Whether PATH holds this format, judged by content: `head` is the file's first HEAD_BYTES bytes
        (b"" for a directory; a format that is a directory, such as a TensorBoard log folder, looks
        inside it). A file name may narrow the guess but never decide it alone. Cheap (it runs for every
        format on every path a command is given) and never raises; it may read more of the file itself.
    events(path: Path, stats: ReadStats) -> Iterator[dict]
        The log as our events (docs/CONTRACTS.md): first one `run_started` with `source` = NAME (and
        `total_steps` when known), then `metrics` (step plus our metric names: loss, grad_norm,
        learning_rate, ...), `eval` (eval_loss, ...) and at most a closing `summary` / `state`, in the
        order they were logged. Names and units are mapped to ours here, once (LLaMA-Factory `lr` ->
        `learning_rate`). Count what was read and skipped in `stats` (`lines`, `note_bad`), and say in
        `stats.notes` what a reader should know (foreign lines left out, bytes replaced). Raise LogError
        for a path that cannot be read at all. Heavy or optional imports go inside this function, and a
        missing extra is a LogError carrying the `pip install` line to run.

Optional:

    blocks(path: Path, stats: ReadStats) -> Iterator[list[dict]]
        The same events as `events`, a list at a time (a few MB of the file each): what a long log is
        read through when present, since a generator step per line costs as much as parsing it. A format
        of one JSON object a line may also take `start` and `end` (byte offsets of line starts) and be
        listed in `preload.LINE_FORMATS`: two processes then read a long log's two halves.

    prefolded(path: Path, stats: ReadStats, start: int = 0, end: int | None = None) -> Iterator
        What `History.extend_prefolded` takes: the events, with runs of training steps already made
        `history.MetricsBlock`s straight from the parsed lines (LLaMA-Factory: no event made of each).
        Preferred to `blocks` when present.

    find(directory: Path) -> Path | None
        For a format that is a file inside a run's folder (trainer_state.json, trainer_log.jsonl): the
        file to read when the user gives the folder. `resolve` then sniffs that file.
    missing() -> frozenset[str]
        Signals this format never carries (LLaMA-Factory logs no grad_norm): `diagnose` lists them
        (`not_in_format`). Put them in the `run_started` event too (`not_logged=sorted(missing())`): the
        replay's tiles and the report read them there and say "a NAME log never has it" instead of
        drawing an empty chart.

Helpers for another tool's log are in `foreign.py`: `run_started(NAME, total_steps, ...)`, `number` (a
value written as text), `seconds` ('1 day, 0:08:23'), `chunks` (a file a few MB at a time, cut at line
ends). After reading, `LoadedLog.settle` handles what every format shares: a log whose steps go back
other than as a resume does is folded again in step order, and a log with no readable entry refused.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from types import ModuleType

HEAD_BYTES = 64 << 10
"""How much of a file `sniff` is shown: a few log lines of any format, a console log's first prints."""

FORMATS: tuple[str, ...] = (
    # Most specific first: our events, then formats whose first line says what they are; the console
    # reader accepts any text holding a Trainer log dict, so it comes last.
    "cockpit.logs.events",
    "cockpit.logs.trainer_state",
    # Other tools' logs, known by their first bytes (a TFRecord, W&B's header, SQLite's) or, for a
    # folder, by the files inside it; the W&B export (CSV / JSON rows with `_step`) after them.
    "cockpit.logs.tensorboard",
    "cockpit.logs.wandb_offline",
    "cockpit.logs.mlflow",
    "cockpit.logs.trackio",
    "cockpit.logs.llamafactory",
    "cockpit.logs.wandb_export",
    "cockpit.logs.console",
)


@cache
def modules() -> tuple[ModuleType, ...]:
    """The format modules, imported once, in FORMATS order."""
    return tuple(import_module(m) for m in FORMATS)


def by_name(name: str) -> ModuleType | None:
    return next((m for m in modules() if m.NAME == name), None)


def known() -> str:
    """The known formats, for a refusal: 'events.jsonl (cockpit), trainer_state.json (Hugging Face), ...'."""
    return ", ".join(m.TITLE for m in modules())


def missing(name: str) -> frozenset[str]:
    """The signals the format NAME never logs (empty for ours and for unknown names)."""
    m = by_name(name)
    f = getattr(m, "missing", None)
    return f() if f is not None else frozenset()
