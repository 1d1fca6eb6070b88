"""Runs of the user's own training script: `CockpitCallback` inside it, `cockpit run -- COMMAND` around it.

session.py    what the callback does once training begins: the run directory, the run control and
              our trainer's callbacks (cockpit.trainer.callbacks), the run_started event
describe.py   run_started read from the Trainer: TrainingArguments, the PEFT config, the model
prompts.py    the prompt a `sample` generates from, when the script names none
settings.py   the stop list's settings, from the callback's arguments and the environment
hook/         the startup hook on the child's PYTHONPATH (sitecustomize.py) and what it patches
launch.py     `cockpit run -- COMMAND`: the run directory, then the wrapper, detached
wrapper.py    `python -m cockpit.own RUN_DIR -- COMMAND`: holds the lock, runs the command, writes
              the final state from its exit
"""

RUN_DIR_ENV = "COCKPIT_RUN_DIR"
"""The run directory the callback writes, set by `cockpit run -- ...` for the command and its children."""
WRAPPED_ENV = "COCKPIT_WRAPPED"
"""'1' under the wrapper: it holds the lock and writes the final state, so the callback does neither."""
AUTOHOOK_ENV = "COCKPIT_AUTOHOOK"
"""'0' turns the startup hook off: the script adds `CockpitCallback` itself (or not at all)."""
COMMAND_ENV = "COCKPIT_COMMAND"
"""The command line the wrapper runs (JSON list), for run_started."""
