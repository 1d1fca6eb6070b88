"""Temporaries a killed merge or export left: found by name (`...tmp-PID...`), taken only when they are
of the wanted kind, owned by this user, and their process is gone. A merged model or a GGUF file is
full-size (a 7B f16 is 14 GB), so a kill -9 must not leave one behind for good."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from cockpit.rundir import pid_alive


def dead_temps(parent: Path, prefix: str, *, folders: bool) -> Iterator[Path]:
    """Entries of `parent` named `{prefix}{PID}` (anything may follow the pid) whose process is gone:
    folders when `folders`, else regular files. Links and other users' entries are never yielded."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        path = Path(parent) / name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        kind_ok = stat.S_ISDIR(st.st_mode) if folders else stat.S_ISREG(st.st_mode)
        if kind_ok and (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not pid_alive(int(m.group(1))):
            yield path
