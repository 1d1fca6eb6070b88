"""`cockpit serve`: the cockpit in a browser, through textual-serve.

textual-serve runs a shell command per browser tab, with Textual's web driver, and relays the terminal
over a websocket to xterm.js in the page. The command served here is `cockpit attach RUN_DIR`: the same
cockpit, with the same keys, including the ones that steer the run (pause, lr, stop). Only the holder
of the key printed in the URL gets the page and a session (`cockpit.serve_access`); the server listens on
the loopback interface unless the user asks otherwise (`--public`), and from a laptop an SSH tunnel
reaches it: `ssh -L 8000:127.0.0.1:8000 gpu-box`.

Never imports torch or the trainer: serving a run that is going is a watching command.
"""

from __future__ import annotations

import ipaddress
import shlex
import socket
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

SERVE_EXTRA_HINT = "pip install 'lora-cockpit[serve]'"


class ServeError(Exception):
    """A request `cockpit serve` refuses; the message says why and what to do instead."""


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback one (127.0.0.0/8, ::1, or a name resolving there)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # an unresolvable name is refused below by the server anyway; never assume loopback
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_host(host: str, public: bool) -> None:
    """Refuse a host other than loopback unless `--public` was given: the page is plain HTTP, so on a
    network the key that lets its holder steer the run (pause, change the lr, stop) travels in clear."""
    if public or is_loopback(host):
        return
    raise ServeError(
        f"--host {host}: not a loopback address, and the served cockpit is plain HTTP: whoever sees the "
        "traffic sees the key that pauses, re-tunes or stops the run. Keep the default "
        "127.0.0.1 and use an SSH tunnel (ssh -L 8000:127.0.0.1:8000 gpu-box), or pass --public "
        "to serve on a network you trust."
    )


def check_port_free(host: str, port: int) -> None:
    """Fail before printing a URL when the port is taken (aiohttp would fail later, with a traceback)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise ServeError(f"--host {host}: cannot be resolved ({e})") from e
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            raise ServeError(
                f"--port {port}: cannot listen on {host}:{port} ({e.strerror or e}); pick another with --port"
            ) from e


def attach_command(run_dir: Path, theme: str | None = None) -> str:
    """The shell command textual-serve runs for each browser tab: this interpreter's `cockpit attach`."""
    args = [sys.executable, "-m", "cockpit.cli", "attach", str(Path(run_dir).resolve())]
    if theme:
        args += ["--theme", theme]
    return shlex.join(args)


def public_name(host: str) -> str:
    """The host as the page's websocket URL names it: a wildcard address (0.0.0.0, ::) is no place a browser
    can connect to, so the machine's name stands in for it."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def preflight(host: str, port: int, public: bool) -> None:
    """Everything that can refuse a serve, checked before a CONFIG's run is started: nothing is started
    for a page that could not be served."""
    check_host(host, public)
    if find_spec("textual_serve") is None:
        raise ServeError(f"cockpit serve needs textual-serve, which is not installed: {SERVE_EXTRA_HINT}")
    check_port_free(host, port)


def start_detached(config: Path, runs_dir: Path) -> Path:
    """Start CONFIG's run as `cockpit run CONFIG --detach` does, in a child process: this process stays a
    watcher (no trainer imports), and the child's messages (memory check, model fetch, a bad field) reach
    the user's terminal as they are. Returns the new run directory."""
    r = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "run", str(config), "--detach", "--runs-dir", str(runs_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        raise ServeError(f"{config}: the run did not start (cockpit run exited {r.returncode}); nothing served")
    return Path(lines[-1])


def guarded_server() -> type:
    """textual-serve's Server behind `cockpit.serve_access` (the secret, the socket's Origin, the session
    cap, a page that fetches nothing from elsewhere), and quiet: without aiohttp's access log (one INFO
    line per request: the page, its scripts, every reconnect) and without its banner (a logo and a second
    "Serving" line under ours), which buried the terminal the user started the server in. Warnings still
    show. Hooks only: the app textual-serve builds, its index handler and its socket handler."""
    import logging

    from textual_serve.server import Server

    from cockpit.serve_access import Access

    class GuardedServer(Server):
        def __init__(self, *args, access: Access, **kwargs):
            super().__init__(*args, **kwargs)
            self.access = access

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app) -> None:
            pass  # `serve` has said where it serves and how to stop it

        async def _make_app(self):
            app = await super()._make_app()
            app.middlewares.append(self.access.middleware)
            return app

        async def handle_index(self, request):
            response = await super().handle_index(request)
            response.text = self.access.page(response.text, static=f"{self.public_url}/static/")
            response.headers.update(self.access.page_headers(request))
            return response

        async def handle_websocket(self, request):
            refusal = self.access.socket_refusal(request)
            if refusal is not None:
                return refusal
            self.access.sessions += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.access.sessions -= 1

    return GuardedServer


def serve(run_dir: Path, *, host: str, port: int, theme: str | None = None, max_sessions: int = 4) -> None:
    """Serve `cockpit attach run_dir` on http://host:port until Ctrl+C (after `preflight`), to whoever
    opens the printed URL with its key."""
    from cockpit.serve_access import KEY, Access, new_secret

    if not (Path(run_dir) / "events.jsonl").is_file():
        raise ServeError(f"{run_dir} is not a run directory (no events.jsonl)")
    url = f"http://{public_name(host)}:{port}"
    secret = new_secret()
    server = guarded_server()(
        attach_command(run_dir, theme),
        host=host,
        port=port,
        title=f"cockpit: {Path(run_dir).name}",
        public_url=url,
        access=Access(secret, port, max_sessions),
    )
    print(f"serving the cockpit on {Path(run_dir).resolve()} at {url}/?{KEY}={secret}  (Ctrl+C to stop)", flush=True)
    print("the key in that URL lets whoever holds it steer the run: share it as you would a password", flush=True)
    server.serve()
