"""Serving the emulator with uvicorn, in the foreground or in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn

from cloudflare_byoip.emulator.app import API_ROOT, STATE_PATH, EmulatorApp
from cloudflare_byoip.emulator.faults import Faults
from cloudflare_byoip.emulator.models import Emulator

STARTUP_TIMEOUT_SECONDS = 10.0
"""How long serve_in_thread waits for the socket to listen before giving up."""


@dataclass
class RunningEmulator:
    """An emulator served on a loopback socket."""

    base_url: str
    """API base URL to give the SDK, e.g. http://127.0.0.1:8787/client/v4."""
    root_url: str
    """Server root, e.g. http://127.0.0.1:8787 (the state view is under it)."""
    port: int
    """TCP port the server listens on."""
    emulator: Emulator
    """The model behind the server; tests may read or change it directly."""
    faults: Faults
    """The faults the server consults per request; tests may mutate them."""
    app: EmulatorApp = field(repr=False)
    """The ASGI app being served."""

    def reset(self, emulator: Emulator, faults: Faults | None = None) -> None:
        """Serve another model and fresh faults on the same socket.

        Lets a test session keep one server and give each test a clean state.
        """
        self.emulator = self.app.emulator = emulator
        self.faults = self.app.faults = faults if faults is not None else Faults()

    @property
    def state_url(self) -> str:
        """URL of the read-only state view (`GET /__emulator/state`)."""
        return self.root_url + STATE_PATH


def make_server(
    app: EmulatorApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
) -> uvicorn.Server:
    """Return a uvicorn server for the app; uvicorn's own access log is off."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


def bound_port(server: uvicorn.Server) -> int:
    """Return the port a started server listens on (resolves port 0)."""
    for listener in server.servers:
        for sock in listener.sockets:
            port: int = sock.getsockname()[1]
            return port
    raise RuntimeError("the server has no listening socket")


@contextmanager
def serve_in_thread(
    emulator: Emulator,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningEmulator]:
    """Serve the emulator on a real socket in a background thread.

    Port 0 picks a free port. The server stops, and the thread is joined, when
    the block exits.
    """
    faults = faults if faults is not None else Faults()
    app = EmulatorApp(emulator, faults)
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.run, name="byoip-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            raise RuntimeError(f"the emulator did not start on {host}:{port}")
        time.sleep(0.005)
    try:
        bound = bound_port(server)
        root = f"http://{host}:{bound}"
        yield RunningEmulator(root + API_ROOT, root, bound, emulator, faults, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
