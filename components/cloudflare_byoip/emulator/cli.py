"""The `byoip-emulator` console script: serve the emulated Addressing API."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import NoReturn

from cloudflare_byoip.emulator.app import API_ROOT, EmulatorApp
from cloudflare_byoip.emulator.faults import EVERY_CREATE, Faults
from cloudflare_byoip.emulator.models import Emulator, SeedError
from cloudflare_byoip.emulator.server import bound_port, make_server
from cloudflare_byoip.emulator.store import MemoryStore, SqliteStore, Store

USAGE_ERROR = 2
"""Exit status for bad arguments or an unusable seed or state file."""


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors are one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def dev_seed_path() -> Path:
    """Return the path of the dev seed shipped with the package."""
    return Path(str(resources.files("cloudflare_byoip.emulator") / "seeds/dev.yaml"))


def _rate_limit(value: str) -> tuple[int, float]:
    count, slash, seconds = value.partition("/")
    try:
        parsed = (int(count), float(seconds))
    except ValueError:
        parsed = (0, 0.0)
    if not slash or parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not N/SECONDS; write e.g. 1200/300 (1200 requests "
            "per 300 seconds)"
        )
    return parsed


def _fraction(value: str) -> float:
    try:
        parsed = float(value)
    except ValueError:
        parsed = -1.0
    if not 0.0 <= parsed <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number from 0 to 1")
    return parsed


def _non_negative(value: str) -> float:
    try:
        parsed = float(value)
    except ValueError:
        parsed = -1.0
    if parsed < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number >= 0")
    return parsed


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return int(value)


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port from 0 to 65535")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = _Parser(
        prog="byoip-emulator",
        description="Local emulator of Cloudflare's Addressing API (BYOIP bindings).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve the API on a loopback port", description=None
    )
    serve.error = parser.error  # type: ignore[method-assign]
    serve.add_argument(
        "--seed",
        type=Path,
        default=None,
        help="YAML seed file (default: the shipped dev seed)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=_port, default=8787, help="default 8787")
    serve.add_argument(
        "--state",
        type=Path,
        default=None,
        help="SQLite file keeping state across restarts (seed applied when new)",
    )
    serve.add_argument(
        "--propagation-seconds",
        type=_non_negative,
        default=None,
        help="seconds a binding stays provisioning (default: the seed's, else 0)",
    )
    serve.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="N/SECONDS",
        help="answer 429 past N requests per window of SECONDS",
    )
    serve.add_argument(
        "--fail-rate",
        type=_fraction,
        default=0.0,
        help="probability (0 to 1) of a random 500/502/503 answer",
    )
    serve.add_argument(
        "--latency-ms", type=_non_negative, default=0.0, help="added latency"
    )
    serve.add_argument(
        "--fail-after-create",
        type=_count,
        nargs="?",
        const=EVERY_CREATE,
        default=0,
        metavar="COUNT",
        help="commit creates but answer 500: the first COUNT creates, or all",
    )
    serve.add_argument(
        "--random-seed", type=int, default=None, help="seed for --fail-rate"
    )
    return parser


def _store(state: Path | None) -> Store:
    if state is None:
        return MemoryStore()
    try:
        return SqliteStore(state)
    except Exception as error:
        raise SeedError(f"cannot use state file {state}: {error}") from None


def _faults(args: argparse.Namespace) -> Faults:
    faults = Faults(
        fail_rate=args.fail_rate,
        latency_ms=args.latency_ms,
        fail_after_create=args.fail_after_create,
        seed=args.random_seed,
    )
    if args.rate_limit is not None:
        faults.rate_limit, faults.rate_limit_window = args.rate_limit
    return faults


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """Handler uvicorn re-raises into after its graceful shutdown: exit normally."""


async def _serve(emulator: Emulator, faults: Faults, host: str, port: int) -> int:
    server = make_server(EmulatorApp(emulator, faults), host, port)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        url = f"http://{host}:{bound_port(server)}{API_ROOT}"
        print(url, flush=True)
    try:
        await task
    except SystemExit:
        print(f"byoip-emulator: error: cannot listen on {host}:{port}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        emulator = Emulator.from_seed(
            args.seed if args.seed is not None else dev_seed_path(),
            store=_store(args.state),
            propagation_seconds=args.propagation_seconds,
        )
    except SeedError as error:
        print(f"byoip-emulator: error: {error}", file=sys.stderr)
        return USAGE_ERROR

    signal.signal(signal.SIGINT, _ignore_signal)
    signal.signal(signal.SIGTERM, _ignore_signal)
    return asyncio.run(_serve(emulator, _faults(args), args.host, args.port))


if __name__ == "__main__":
    sys.exit(main())
