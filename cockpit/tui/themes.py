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

BUILTIN = {
    "cockpit-dark": dict(
        primary="#5fafff",
        secondary="#87d7af",
        accent="#ffaf5f",
        foreground="#e4e4e4",
        background="#121212",
        surface="#1c1c1c",
        panel="#303030",
        success="#5fd75f",
        warning="#ffd75f",
        error="#ff5f5f",
        dark=True,
    ),
    "cockpit-light": dict(
        primary="#005fd7",
        secondary="#008787",
        accent="#af5f00",
        foreground="#1c1c1c",
        background="#f5f5f5",
        surface="#ffffff",
        panel="#d0d0d0",
        success="#008700",
        warning="#af8700",
        error="#d70000",
        dark=False,
    ),
    "cockpit-contrast": dict(
        primary="#ffffff",
        secondary="#00afff",
        accent="#ffff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#808080",
        success="#00afff",
        warning="#ffaf00",
        error="#ff00ff",
        dark=True,
    ),
}
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
