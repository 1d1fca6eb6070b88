"""A URL that is a secret (a Slack-style webhook: the token is its path or its query): refused when it
cannot be used as it is, and scrubbed, every part of it, from any message that might quote it.

http.client quotes only the path and query of a URL it refuses (`URL can't contain control characters.
'/services/T0/B0/TOKEN ' ...`), escaped as Python's repr escapes them: replacing the whole URL missed
that, and the token went into the run's events.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, urlsplit

HIDDEN = "<webhook>"
"""What a part of the URL is replaced by in a message."""
SHORTEST_PART = 4
"""Shorter pieces ('/', 'a') are no secret and would blot out ordinary words of the message."""


def url_problem(url: str) -> str | None:
    """Why `url` cannot be posted to as it is (a space, a line break or a control character: a copy-paste
    mistake), without quoting any of it; None when it is usable."""
    for i, c in enumerate(url, 1):
        if c.isspace() or unicodedata.category(c)[0] == "C":
            what = "a space" if c == " " else "a line break or tab" if c in "\n\r\t" else "a control character"
            return (
                f"the webhook URL holds {what} at character {i} of {len(url)} (a copy-paste mistake?); "
                "fix it where it is set (the URL is a secret, so it is not shown here)"
            )
    return None


def secret_parts(url: str) -> list[str]:
    """The URL and every piece of it a message could quote (the address, path, query, each path segment
    and query value; raw, repr-escaped and percent-encoded), longest first."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    pieces = {url, url.split("://", 1)[-1]}
    if parts is not None:
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        pieces |= {parts.netloc, parts.path, parts.query, parts.fragment, path_query}
        pieces |= set(parts.path.split("/")) | set(parts.netloc.split("@"))
        pieces |= {p for p in (parts.username, parts.password, parts.hostname) if p}
        for pair in parts.query.split("&"):
            pieces |= set(pair.split("=", 1))
    out: set[str] = set()
    for p in pieces:
        out |= {p, p.strip(), repr(p)[1:-1], quote(p, safe="/:@?&=")}
    return sorted((p for p in out if len(p) >= SHORTEST_PART), key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """`text` with every part of `url` replaced by HIDDEN."""
    if not url:
        return text
    for part in secret_parts(url):
        text = text.replace(part, HIDDEN)
    return text
