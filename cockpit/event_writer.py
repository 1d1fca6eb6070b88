"""The event writer lives in cockpit.rundir.writer; this name stays for the code that imports it here."""

from cockpit.rundir.writer import BACKLOG_LINES, RESERVE_BYTES, EventWriter

__all__ = ["BACKLOG_LINES", "RESERVE_BYTES", "EventWriter"]
