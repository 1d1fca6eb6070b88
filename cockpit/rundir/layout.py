"""Where each file of a run directory is, and the checks that keep a run from writing through files
someone else prepared (a planted link, another user's directory, one that already holds things)."""

from __future__ import annotations

import errno
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import overload


class RunFile:
    """A file or folder of every run directory, by its name: `run.events` is `run.path / "events.jsonl"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, run: None, owner: type) -> RunFile: ...
    @overload
    def __get__(self, run: RunDir, owner: type | None = None) -> Path: ...
    def __get__(self, run: RunDir | None, owner: type | None = None) -> Path | RunFile:
        return self if run is None else run.path / self.name  # on the class itself: the descriptor (help())


class RunDir:
    """Paths inside one run directory. Creating one touches nothing on disk."""

    __slots__ = ("path", "spawned", "resume_offset")

    # The run-directory contract (docs/CONTRACTS.md): what each file is called.
    config = RunFile("config.yaml")
    events = RunFile("events.jsonl")
    control = RunFile("control.jsonl")
    log = RunFile("trainer.log")
    lock = RunFile("trainer.lock")
    checkpoints = RunFile("checkpoints")
    adapter = RunFile("adapter")
    merged = RunFile("merged")

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.spawned = None  # the trainer process this cockpit started, if any
        self.resume_offset = 0  # where a resumed run's new events begin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def is_run(self) -> bool:
        return self.events.exists() or self.config.exists()

    def create(self) -> RunDir:
        """Make a new private (0700) run directory, or take an empty one this user owns as it is (never
        chmod-ed: it is not ours to change). The control file is 0600: whoever writes it steers the run.
        Refuses (RunDirError) a symlink, another user's or a world-writable directory, or one that holds
        anything, so a run never writes through files someone else prepared."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            check_empty_own_dir(self.path)
        for p, mode in ((self.control, 0o600), (self.events, 0o644)):
            os.close(open_run_file(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
        return self

    def symlinked_files(self) -> list[Path]:
        """Run files that are symbolic links (dangling or not): nothing may be read or written through them."""
        out = []
        for p in (self.config, self.events, self.control, self.log, self.lock):
            try:
                if stat.S_ISLNK(os.lstat(p).st_mode):
                    out.append(p)
            except OSError:
                pass
        return out

    def symlink_problem(self) -> str | None:
        """Why this run directory must not be used (a run file is a symbolic link), or None."""
        links = self.symlinked_files()
        if not links:
            return None
        names = ", ".join(p.name for p in links)
        return (
            f"{self.path}: {names} {'is a symbolic link' if len(links) == 1 else 'are symbolic links'} "
            f"(-> {os.readlink(links[0])}); run files must be plain files, refusing to follow "
            f"{'it' if len(links) == 1 else 'them'}"
        )

    def adapter_to_merge(self) -> Path | None:
        """What merging the run takes when no checkpoint is named: its final adapter, else its latest
        checkpoint; None when it has neither yet."""
        if (self.adapter / "adapter_config.json").exists():
            return self.adapter
        return self.latest_checkpoint()

    def latest_checkpoint(self) -> Path | None:
        """The newest complete `checkpoint-N` folder (temporary folders are ignored)."""
        best: tuple[int, Path] | None = None
        if self.checkpoints.is_dir():
            for p in self.checkpoints.iterdir():
                if p.is_dir() and p.name.startswith("checkpoint-"):
                    try:
                        n = int(p.name.split("-", 1)[1])
                    except ValueError:
                        continue
                    if best is None or n > best[0]:
                        best = (n, p)
        return best[1] if best else None


def unused_stamped_path(parent: Path, name: str) -> Path:
    """Where a new run, study or sweep directory goes: `parent/name-YYYYmmdd-HHMMSS`, or with `-2`, `-3`
    after it when one started in the same second already has that path. Nothing is created."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = parent / f"{name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = parent / f"{name}-{stamp}-{n}"
    return path


class RunDirError(OSError):
    """A run directory or run file that must not be used (symlink, another user's, not empty)."""

    def __str__(self) -> str:  # the message alone: "[Errno 40]" says nothing to a user
        return self.strerror or super().__str__()


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_run_file(path: str | os.PathLike[str], flags: int, mode: int = 0o600) -> int:
    """`os.open` that never follows a symbolic link as the last part of the path: a link planted in a run
    directory (dangling or not) must not make the trainer create or write a file elsewhere."""
    try:
        return os.open(path, flags | _NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:
            try:
                target = f" -> {os.readlink(path)}"
            except OSError:
                target = ""
            raise RunDirError(
                errno.ELOOP, f"{path} is a symbolic link{target}; run files must be plain files, refusing to follow it"
            ) from None
        raise


def check_empty_own_dir(path: Path) -> None:
    """An existing directory may become a run directory only when it is a real directory, this user's,
    not writable by every user, and empty."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise RunDirError(
            errno.ELOOP,
            f"{path} is a symbolic link (-> {os.readlink(path)}); give a new directory "
            "or the real path of an empty one you own",
        )
    if not stat.S_ISDIR(st.st_mode):
        raise RunDirError(errno.ENOTDIR, f"{path} exists and is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise RunDirError(
            errno.EPERM,
            f"{path} belongs to another user (uid {st.st_uid}); a run directory must be "
            "new or an empty directory you own",
        )
    if st.st_mode & stat.S_IWOTH:
        raise RunDirError(
            errno.EPERM,
            f"{path} is writable by every user (mode {stat.S_IMODE(st.st_mode):o}); "
            "give a new directory or chmod 700 it first",
        )
    with os.scandir(path) as it:
        names = sorted(e.name for e in it)
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise RunDirError(
            errno.ENOTEMPTY, f"{path} is not empty (holds {shown}); --run-dir takes a new or empty directory"
        )


def control_file_problem(path: Path) -> str | None:
    """Why the trainer must not trust this control file (a link, writable by group/others), or None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link; run files must be plain files, refusing to follow it"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    return None
