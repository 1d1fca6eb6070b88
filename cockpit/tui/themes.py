"""The cockpit's themes: palettes read from `themes/*.tcss`, registered as Textual `Theme` objects.

A theme file is a list of TCSS variables (`$primary: #5fafff;` ... `$dark: true;`). The stylesheet is
shared and refers only to variables (`$success`, `$warning`, `$error` for the bands), so a theme is a
palette, not a copy of the CSS. Files are looked up in the repository's `themes/` and in
`~/.config/lora-cockpit/themes/`; the three built-in palettes below are the fallback when the package
is installed without the repository.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textual.theme import Theme

BUILTIN = {
    "cockpit-dark": dict(primary="#5fafff", secondary="#87d7af", accent="#ffaf5f", foreground="#e4e4e4",
                         background="#121212", surface="#1c1c1c", panel="#303030", success="#5fd75f",
                         warning="#ffd75f", error="#ff5f5f", dark=True),
    "cockpit-light": dict(primary="#005fd7", secondary="#008787", accent="#af5f00", foreground="#1c1c1c",
                          background="#f5f5f5", surface="#ffffff", panel="#d0d0d0", success="#008700",
                          warning="#af8700", error="#d70000", dark=False),
    "cockpit-contrast": dict(primary="#ffffff", secondary="#00afff", accent="#ffff00", foreground="#ffffff",
                             background="#000000", surface="#000000", panel="#808080", success="#00afff",
                             warning="#ffaf00", error="#ff00ff", dark=True),
}
FIELDS = {"primary", "secondary", "accent", "foreground", "background", "surface", "panel", "success", "warning",
          "error", "boost", "dark"}
VAR = re.compile(r"^\s*\$([a-z0-9-]+)\s*:\s*([^;]+);", re.M)


def theme_dirs() -> list[Path]:
    repo = Path(__file__).resolve().parents[2] / "themes"
    user = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "lora-cockpit" / "themes"
    return [repo, user]


def parse_theme(path: Path) -> Theme:
    fields: dict = {}
    variables: dict[str, str] = {}
    for key, value in VAR.findall(path.read_text()):
        value = value.strip()
        if key == "dark":
            fields["dark"] = value.lower() == "true"
        elif key in FIELDS:
            fields[key] = value
        else:
            variables[key] = value
    fields.setdefault("primary", "#5fafff")
    return Theme(name=path.stem, variables=variables, **fields)


def load_themes() -> list[Theme]:
    found: dict[str, Theme] = {name: Theme(name=name, **vals) for name, vals in BUILTIN.items()}
    for d in theme_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.tcss")):
                try:
                    found[f.stem] = parse_theme(f)
                except (OSError, ValueError):
                    continue  # a broken user theme must not stop the cockpit
    return list(found.values())
