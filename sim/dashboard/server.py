"""Start the dashboard: a Solara app served by uvicorn, on the loopback address by default."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

from sim.errors import UserInputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def configure(db: str | None) -> None:
    """Environment of the Solara app: the database, no telemetry, no version check."""
    if db is not None:
        os.environ["SIM_DASHBOARD_DB"] = db
    os.environ["SOLARA_APP"] = "sim.dashboard.app"
    # Solara reports usage to a remote service unless told not to; a workshop page never does.
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_LOADER", "plain")


def serve(db: str | None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve the dashboard until interrupted.

    Raises:
        UserInputError: the database does not exist, or the extra is not installed.
    """
    if db is not None and "://" not in db and not os.path.isfile(db):
        raise UserInputError(f"{db}: no such results database (run `make demo` first)")
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, not on the loopback address: anyone who can reach "
            "this machine on that network can open the dashboard and read the results",
            file=sys.stderr,
        )
    configure(db)
    try:
        import solara.server.starlette  # noqa: F401
        import uvicorn
        from solara.server import settings
    except ModuleNotFoundError as error:
        raise UserInputError(
            f"the dashboard needs the 'dashboard' extra ({error}): pip install -e '.[dashboard]'"
        ) from error
    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    url_host = host if ":" not in host else f"[{host}]"
    print(f"Workshop dashboard on http://{url_host}:{port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(
        "solara.server.starlette:app", host=host, port=port, log_level="warning", access_log=False
    )
    return 0
