"""The background trainer process: `python -m cockpit.trainer RUN_DIR`.

Heavy imports (torch, transformers, peft, trl) live in the submodules and happen only inside the
trainer process; importing this package is free.
"""
