"""The cockpit's themes: palettes read from `themes/*.tcss`, registered as Textual `Theme` objects.

A theme file is a list of TCSS variables, one a line (the format: themes/README.md):

    $primary: #5fafff;      a colour: #rgb, #rrggbb, rgb(...), hsl(...) or a colour name
    $dark: true;            true or false
    $footer-key-foreground: #ffaf5f;   any other variable: passed on to Textual as it is

The stylesheet is shared and refers only to variables (`$success`, `$warning`, `$error` for the bands),
so a theme is a palette, not a copy of the CSS. Files are looked up in the repository's `themes/` and in
`~/.config/lora-cockpit/themes/`; the three built-in palettes below are the fallback when the package
is installed without the repository. A file that is not in the format is refused, with a message that
names the file, the line and the field; the other themes load all the same.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

PALETTES = """
field       cockpit-dark  cockpit-light  cockpit-contrast
primary     #5fafff       #005fd7        #ffffff
secondary   #87d7af       #008787        #00afff
accent      #ffaf5f       #af5f00        #ffff00
foreground  #e4e4e4       #1c1c1c        #ffffff
background  #121212       #f5f5f5        #000000
surface     #1c1c1c       #ffffff        #000000
panel       #303030       #d0d0d0        #808080
success     #5fd75f       #008700        #00afff
warning     #ffd75f       #af8700        #ffaf00
error       #ff5f5f       #d70000        #ff00ff
dark        true          false          true
"""
"""The built-in palettes side by side, one column each: the fallback when the package is installed
without the repository's themes/ (whose files say the same; a test keeps them equal)."""


def _builtin() -> dict[str, dict[str, object]]:
    header, *rows = (line.split() for line in PALETTES.strip().splitlines())
    out: dict[str, dict[str, object]] = {name: {} for name in header[1:]}
    for field, *values in rows:
        for name, value in zip(header[1:], values):
            out[name][field] = value == "true" if field == "dark" else value
    return out


BUILTIN = _builtin()
COLOURS = {
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
    "boost",
}
"""The Theme's colour fields: each must parse as a colour."""
DECLARATION = re.compile(r"^\$([a-z][a-z0-9-]*)\s*:\s*(.*?)\s*;$")
COMMENT = re.compile(r"/\*.*?\*/", re.S)


class ThemeError(ValueError):
    """A theme file not in the format: `path:line: $field: what is wrong`."""

    def __init__(self, path: Path, line: int, field: str | None, problem: str):
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: " + (f"${field}: " if field else "") + problem)


def theme_dirs() -> list[Path]:
    repo = Path(__file__).resolve().parents[2] / "themes"
    user = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "lora-cockpit" / "themes"
    return [repo, user]


def parse_theme(path: Path) -> Theme:
    """The theme a file describes, or ThemeError naming the file, line and field that are wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ThemeError(path, 0, None, f"cannot be read ({e})") from None
    # Comments out, newlines kept: the line numbers stay those of the file.
    text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    fields: dict = {}
    variables: dict[str, str] = {}
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        m = DECLARATION.match(line)
        if m is None:
            raise ThemeError(path, lineno, None, f"not a `$name: value;` line: {line[:60]!r}")
        key, value = m.groups()
        if key in seen:
            raise ThemeError(path, lineno, key, "given twice")
        seen.add(key)
        if key == "dark":
            if value.lower() not in ("true", "false"):
                raise ThemeError(path, lineno, key, f"{value!r} is not true or false")
            fields["dark"] = value.lower() == "true"
        elif key in COLOURS:
            try:
                Color.parse(value)
            except ColorParseError:
                raise ThemeError(path, lineno, key, f"{value!r} is not a colour (#rrggbb, rgb(), or a name)") from None
            fields[key] = value
        else:
            variables[key] = value
    if "primary" not in fields:
        raise ThemeError(path, 0, "primary", "missing: every theme needs a primary colour")
    return Theme(name=path.stem, variables=variables, **fields)


def load_themes_checked() -> tuple[list[Theme], list[ThemeError]]:
    """The built-in palettes, then every theme file (a file overrides a built-in of its name), and the
    files refused: a broken user theme must not stop the cockpit, nor pass unsaid."""
    found: dict[str, Theme] = {name: Theme(name=name, **vals) for name, vals in BUILTIN.items()}
    refused: list[ThemeError] = []
    for d in theme_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.tcss")):
                try:
                    found[f.stem] = parse_theme(f)
                except ThemeError as e:
                    refused.append(e)
    return list(found.values()), refused


def load_themes() -> list[Theme]:
    return load_themes_checked()[0]
