"""The cockpit's widgets, one per file."""
