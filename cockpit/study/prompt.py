"""Where only a person can judge: ask in the terminal, take the default, or record the question."""

from __future__ import annotations

import sys
from collections.abc import Callable

from cockpit.study.answers import pick
from cockpit.study.types import Question

BY_DEFAULT = "--accept-defaults"


class Asker:
    """answer(question) -> the answer, or None when nobody can be asked (the study then blocks)."""

    def __init__(
        self,
        *,
        accept_defaults: bool,
        answers: dict[str, str] | None = None,
        interactive: bool | None = None,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ):
        self.accept_defaults = accept_defaults
        self.given = dict(answers or {})
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.read, self.write = read, write
        self.source: str | None = None
        """Who gave the last answer: `--answer`, `--accept-defaults` (nobody chose) or `a person` (asked)."""

    def answer(self, q: Question) -> str | None:
        if q.id in self.given:
            self.source = "--answer"
            return self.given[q.id]
        if self.accept_defaults:
            self.write(f"  ? {q.text}\n    -> {q.default} ({BY_DEFAULT})")
            self.source = BY_DEFAULT
            return q.default
        if not self.interactive:
            return None
        self.source = "a person"
        opts = "/".join(o.upper() if o == q.default else o for o in q.options)
        while True:
            try:
                got = self.read(f"  ? {q.text} [{opts}] ").strip().lower()
            except EOFError:
                return None
            if not got:
                return q.default
            match = pick(got, q.options)
            if match is not None:
                return match
            self.write(f"    answer one of: {', '.join(q.options)}")

    def confirm(self, text: str) -> bool:
        """Go on? Only asked without --auto; no terminal means stop here."""
        if not self.interactive:
            return False
        try:
            return self.read(f"{text} [Y/n] ").strip().lower() in ("", "y", "yes")
        except EOFError:
            return False
