"""The run browser: every run in a folder (ours and other tools' logs) with its state, kind, last step, key
config values and the advisor's verdict; a filter; several selected and compared; one opened.

The folder is listed by name at once and each run is read in a worker thread (cockpit.browse_rows), so a
folder of many runs opens at once and fills in."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cockpit.browse_rows import BrowseRow, read_row
from cockpit.runlist import Entry, entries
from cockpit.tui.run_table import VERDICT_STYLE
from cockpit.tui.widgets.footer import FittedFooter

COLUMNS = ("", "run", "state", "kind", "step", "lr", "r/α", "verdict")
FIXED_W = 1 + 9 + 5 + 6 + 5 + 5 + 2 * len(COLUMNS) + 2
"""The columns but the run's name and the verdict, with the cells' padding and the scrollbar: those two
share what is left, so a row fits 80 columns (the highlighted run's whole name and verdict are under it)."""
KIND_SHORT = {"preference": "pref", "reward": "rm"}
REDRAW_S = 0.2
"""How often rows read meanwhile are drawn: a folder of hundreds of runs is not redrawn per run."""


class EntriesFound(Message):
    def __init__(self, found: list[Entry]):
        super().__init__()
        self.found = found


class RowRead(Message):
    def __init__(self, index: int, row: BrowseRow | None, done: bool):
        super().__init__()
        self.index, self.row, self.done = index, row, done


class BrowserScreen(Screen):
    BINDINGS = [
        Binding("space", "toggle", "Select", id="browse_select"),
        Binding("c", "compare", "Compare", id="browse_compare", tooltip="The selected runs overlaid"),
        Binding("slash,f", "filter", "Filter", id="browse_filter"),
        Binding("a", "select_shown", "Select all", id="browse_select_all", show=False),
        Binding("t", "cycle_theme", "Theme", id="browse_theme", show=False),
        Binding("q", "quit", "Quit", id="browse_quit"),
    ]
    DEFAULT_CSS = """
    BrowserScreen { layout: vertical; }
    BrowserScreen #browse-title { height: 1; background: $panel; }
    BrowserScreen #browse-filter { height: 3; }
    BrowserScreen DataTable { height: 1fr; }
    BrowserScreen #browse-detail { height: 2; }
    BrowserScreen #browse-status { height: 1; color: $text-muted; }
    """

    def __init__(self, root: Path):
        super().__init__()
        self.root = root
        self.entries: list[Entry] = []
        self.rows: dict[int, BrowseRow | None] = {}
        """Entry index -> its row once read (None: it holds no log the cockpit reads)."""
        self.selected: set[str] = set()
        self.read_all = False
        """Every entry has been read (tests wait on it)."""
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"runs in {self.root}", style="bold"), id="browse-title")
        yield Input(placeholder="filter: name, state, kind, verdict or key=value (r=16, state=run)", id="browse-filter")
        yield DataTable(cursor_type="row", zebra_stripes=False, id="browse-table")
        yield Static(id="browse-detail")
        yield Static(id="browse-status")
        yield FittedFooter()  # whole keys only, the way out and help always among them

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._read()
        self.set_interval(REDRAW_S, self._redraw_if_dirty)

    # ---- reading the folder ----------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="browse-read", name="browse-read")
    def _read(self) -> None:
        try:
            found = entries(self.root)
        except OSError as e:
            self.app.call_from_thread(self._status, f"cannot list {self.root}: {e}")
            found = []
        self.post_message(EntriesFound(found))
        if not found:
            self.post_message(RowRead(-1, None, True))
        for i, entry in enumerate(found):
            try:
                row = read_row(entry)
            except Exception as e:  # one unreadable run must not stop the others being listed
                row = BrowseRow(entry[0], entry[1], entry[2] != "foreign", "unreadable", problem=str(e))
            self.post_message(RowRead(i, row, i == len(found) - 1))

    @on(EntriesFound)
    def _found(self, msg: EntriesFound) -> None:
        self.entries = msg.found
        self._redraw()

    @on(RowRead)
    def _row_read(self, msg: RowRead) -> None:
        if msg.index >= 0:
            self.rows[msg.index] = msg.row
        self.read_all = msg.done
        self._dirty = True
        if msg.done:
            self._redraw()

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._redraw()

    # ---- the table ---------------------------------------------------------------------------------------

    def shown(self) -> list[tuple[int, BrowseRow | None]]:
        """The entries the filter lets through: read rows that match; unread ones while no filter is set."""
        text = self.query_one(Input).value.strip()
        out = []
        for i, (name, _, _) in enumerate(self.entries):
            if i not in self.rows:
                if not text or text.lower() in name.lower():
                    out.append((i, None))
                continue
            row = self.rows[i]
            if row is not None and (not text or row.matches(text)):
                out.append((i, row))
        return out

    def _redraw(self) -> None:
        self._dirty = False
        t = self.table
        keep = self._cursor_key()
        shown = self.shown()
        room = max(20, self.app.size.width - FIXED_W)  # the app's: this screen may not be laid out yet
        longest = max((len(self.entries[i][0]) for i, _ in shown), default=3)
        name_w = min(longest, max(10, room * 2 // 5))
        rows = []
        for i, row in shown:
            selected = row is not None and str(row.path) in self.selected
            rows.append((str(i), row_cells(row, self.entries[i][0], name_w, room - name_w, selected)))
        # Widths set here, each time: a table's own grow with what it held before (a long name filtered out).
        t.clear(columns=True)
        for n, c in enumerate(COLUMNS):
            w = max([len(c), *(len(str(cells[n])) for _, cells in rows if n < len(cells))])
            t.add_column(c, key=c or "mark", width=w)
        for key, cells in rows:
            t.add_row(*cells, key=key)
        if keep is not None and keep in {str(i) for i, _ in shown}:
            t.move_cursor(row=t.get_row_index(keep))
        self._detail()
        self._status()

    def on_resize(self) -> None:
        self._redraw()

    @on(DataTable.RowHighlighted)
    def _detail(self) -> None:
        row = self.highlighted()
        out = Text()
        if row is not None:
            out.append(row.name, style="bold")
            out.append(f"  step {row.steps()}")
            out.append(f"  {row.path}", style="dim")
            out.append(f"\n{row.problem or row.verdict}", style="bold red" if row.problem else "")
        self.query_one("#browse-detail", Static).update(out)

    def _cursor_key(self) -> str | None:
        t = self.table
        if not t.row_count:
            return None
        return t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value

    def _status(self, said: str | None = None) -> None:
        read = len(self.rows)
        runs = sum(1 for r in self.rows.values() if r is not None)
        parts = [said] if said else []
        if not self.read_all:
            parts.append(f"reading {read}/{len(self.entries)}")
        parts.append(f"{runs} runs, {len(self.shown())} shown, {len(self.selected)} selected")
        if not self.entries and self.read_all:
            parts = [said or f"no runs in {self.root} (start one with `cockpit demo` or `cockpit run CONFIG`)"]
        self.query_one("#browse-status", Static).update("  ".join(parts))

    def highlighted(self) -> BrowseRow | None:
        key = self._cursor_key()
        return self.rows.get(int(key)) if key is not None else None

    # ---- keys --------------------------------------------------------------------------------------------

    @on(Input.Changed)
    def _filter_changed(self) -> None:
        self._redraw()

    @on(Input.Submitted)
    def _filter_done(self) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def key_escape(self) -> None:
        if self.query_one(Input).has_focus:
            self.table.focus()

    def action_toggle(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        self.selected ^= {str(row.path)}
        t = self.table
        t.update_cell_at((t.cursor_row, 0), mark(str(row.path) in self.selected))
        t.move_cursor(row=t.cursor_row + 1)
        self._status()

    def action_select_shown(self) -> None:
        self.selected |= {str(r.path) for _, r in self.shown() if r is not None}
        self._redraw()

    def action_compare(self) -> None:
        from cockpit.compare.feed import CompareFeed
        from cockpit.tui.compare_screen import CompareScreen

        paths = [r.path for r in self.rows.values() if r is not None and str(r.path) in self.selected]
        if len(paths) < 2:
            self._status(f"select 2 runs or more to compare (space), {len(paths)} selected")
            return
        self.app.push_screen(CompareScreen(CompareFeed(paths, title=str(self.root))))

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        """Enter: the run's own cockpit, live for a run of ours that may still be training, else its replay."""
        from cockpit.tui.compare_screen import run_screen

        row = self.highlighted()
        if row is None:
            return
        if row.state.startswith("no events.jsonl"):
            self._status(f"{row.name}: no events.jsonl to show")
            return
        try:
            screen = run_screen(row.path, row.state if row.live else "finished")
        except Exception as e:  # LogError, OSError: the run cannot be read now; say so, stay here
            self._status(f"cannot open {row.name}: {e}")
            return
        self.app.push_screen(screen)

    def action_cycle_theme(self) -> None:
        self.app.cycle_theme()

    def action_quit(self) -> None:
        self.app.exit()


def mark(selected: bool) -> Text:
    return Text("✓" if selected else " ", style="bold")


def row_cells(row: BrowseRow | None, name: str, name_w: int, verdict_w: int, selected: bool) -> tuple:
    """One table row, cut to fit: a run not read yet shows its name and `reading…`."""
    if row is None:
        return ("", Text(_cut(name, name_w), style="dim"), Text("reading…", style="dim"))
    c = row.cells()
    verdict = row.problem or c["verdict"]
    style = "bold red" if row.problem else VERDICT_STYLE.get(verdict.split()[0].rstrip(":"), "")
    step = c["step"].split("/")[0]
    if verdict_w >= 40:  # wide: the step's total too, out of the verdict's room
        step, verdict_w = c["step"], verdict_w - 6
    return (
        mark(selected),
        _cut(name, name_w),
        Text(_cut(c["state"], 9), style="bold" if row.live else ""),
        KIND_SHORT.get(c["kind"], c["kind"]),
        step,
        c["lr"],
        f"{c['r']}/{c['alpha']}" if c["r"] != "-" or c["alpha"] != "-" else "-",
        Text(_cut(verdict, verdict_w), style=style),
    )


def _cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"
