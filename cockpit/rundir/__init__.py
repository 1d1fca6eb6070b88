"""The run directory: the one contract between the trainer and any number of cockpits.

    runs/<run-id>/
      config.yaml     the resolved config the run started with
      events.jsonl    append-only, written by the trainer (and merge); one JSON object a line
      control.jsonl   append-only commands from cockpits; the trainer reads new lines at each step
      trainer.log     the trainer's stdout/stderr
      trainer.lock    flock-ed by the one trainer allowed to write here (its pid inside)
      checkpoints/    checkpoint-N/ as the HF Trainer writes them
      adapter/        the final adapter
      merged/         the merged model, when asked for

Every event carries `v` (schema version), `t` (unix time) and `kind`. Readers tolerate a torn last
line (the writer may be mid-write), corrupt lines (skipped and counted) and unknown kinds/fields.

One concern a module: `layout` (paths, and the checks before a file is created or trusted), `events`
(kinds, states, one event's shape), `writer` (appending events), `reading` (whole-file and backwards
reads), `tail` (following a growing file), `commands` (control.jsonl), `lock` (the one writer) and
`liveness` (is the trainer's process there). Every name is also importable from `cockpit.rundir`.
"""

from cockpit.rundir.commands import (
    COMMAND_TTL,
    COMMANDS,
    MERGE_DTYPES,
    append_command,
    merge_value_problem,
    new_command,
    parse_command,
)
from cockpit.rundir.events import (
    EVENT_KINDS,
    FINAL_STATES,
    MAX_STEP,
    METRIC_KEYS,
    SCHEMA_VERSION,
    STATES,
    SYSTEM_KEYS,
    as_event,
    dumps,
    make_event,
    parse_line,
    step_ok,
)
from cockpit.rundir.layout import (
    RunDir,
    RunDirError,
    check_empty_own_dir,
    control_file_problem,
    open_run_file,
    unused_stamped_path,
)
from cockpit.rundir.liveness import STALL_MIN_S, pid_alive, process_state, stall_after
from cockpit.rundir.lock import (
    LOCK_FD_ENV,
    LockHeld,
    acquire_lock,
    hand_over_lock,
    held_lock_fd,
    read_lock_pid,
    relabel_lock,
    release_lock,
)
from cockpit.rundir.reading import ReadStats, last_event, parse_lines, read_blocks, read_events, tail_text
from cockpit.rundir.tail import ReadError, Tail
from cockpit.rundir.writer import EventWriter

__all__ = [
    "COMMANDS",
    "COMMAND_TTL",
    "EVENT_KINDS",
    "FINAL_STATES",
    "LOCK_FD_ENV",
    "MAX_STEP",
    "MERGE_DTYPES",
    "METRIC_KEYS",
    "SYSTEM_KEYS",
    "SCHEMA_VERSION",
    "STALL_MIN_S",
    "STATES",
    "EventWriter",
    "LockHeld",
    "ReadError",
    "ReadStats",
    "RunDir",
    "RunDirError",
    "Tail",
    "acquire_lock",
    "append_command",
    "as_event",
    "check_empty_own_dir",
    "control_file_problem",
    "dumps",
    "hand_over_lock",
    "held_lock_fd",
    "last_event",
    "make_event",
    "merge_value_problem",
    "new_command",
    "open_run_file",
    "parse_command",
    "parse_line",
    "parse_lines",
    "pid_alive",
    "process_state",
    "read_blocks",
    "read_events",
    "read_lock_pid",
    "relabel_lock",
    "release_lock",
    "stall_after",
    "step_ok",
    "tail_text",
    "unused_stamped_path",
]
