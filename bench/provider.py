"""Benchmark of the ServiceBinding provider through its gRPC process.

Counts the API calls of creating, refreshing and deleting N bindings (on the
emulator's side, from its per-request log), then times N creates with 50 ms
of emulator latency, driven from four threads as the engine does, against the
bound N x latency / 4 of one call per create.

Run: .venv/bin/python bench/provider.py [N]
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cloudflare_byoip.emulator.faults import Faults
from cloudflare_byoip.emulator.models import Emulator
from cloudflare_byoip.emulator.server import RunningEmulator, serve_in_thread
from cloudflare_byoip.testing.provider_process import ProviderProcess, urn

TOKEN = "bench-token"
ACCOUNT = "0123456789abcdef0123456789abcdef"
PREFIXES = {
    "00000000000000000000000000000c01": "198.51.100.0/24",
    "00000000000000000000000000000c02": "192.0.2.0/24",
}
THREADS = 4
"""The engine serves a dynamic provider with four threads."""
LATENCY_MS = 50.0


class Counter(logging.Handler):
    """Counts the emulator's requests by method, from its per-request log line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._counts_lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 4:
            method, path, _, _ = record.args
            kind = f"{method} {str(path).rsplit('/', 1)[-1]}"
            with self._counts_lock:
                self.counts[kind] = self.counts.get(kind, 0) + 1

    def take(self) -> dict[str, int]:
        with self._counts_lock:
            counts, self.counts = self.counts, {}
        return counts


def describe(counts: dict[str, int]) -> str:
    def label(kind: str) -> str:
        method, last = kind.split(" ", 1)
        if last == "services":
            return "List Services"
        if last == "bindings":
            return "List Bindings" if method == "GET" else "Create"
        return {"GET": "Get", "DELETE": "Delete"}.get(method, method)

    merged: dict[str, int] = {}
    for kind, count in counts.items():
        merged[label(kind)] = merged.get(label(kind), 0) + count
    return ", ".join(f"{name} {count}" for name, count in sorted(merged.items()))


def run(jobs: Iterable[Any], work: Callable[[Any], Any]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, jobs))
    return results, time.perf_counter() - started


def inputs(prefix_id: str, cidr: str, service: str) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "prefix_id": prefix_id,
        "cidr": cidr,
        "service": service,
    }


def create_all(
    provider: ProviderProcess, prefix_id: str, cidrs: list[str]
) -> tuple[list[tuple[str, dict[str, Any]]], float]:
    def create(cidr: str) -> tuple[str, dict[str, Any]]:
        checked, failures = provider.check(
            urn(cidr), {}, inputs(prefix_id, cidr, "cdn")
        )
        if failures:
            raise SystemExit(f"check failed for {cidr}: {failures}")
        return provider.create(urn(cidr), checked)

    return run(cidrs, create)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    if not 1 <= n <= 255:
        raise SystemExit("N must be from 1 to 255 (/32 overrides in one /24)")

    model = Emulator()
    model.add_token(TOKEN)
    model.add_account(ACCOUNT)
    for prefix_id, cidr in PREFIXES.items():
        model.add_prefix(ACCOUNT, prefix_id, cidr)
        default = cidr.split("/")[0]
        model.add_binding(ACCOUNT, prefix_id, f"{default}/24", "spectrum")

    counter = Counter()
    logger = logging.getLogger("cloudflare_byoip.emulator")
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    logger.propagate = False

    faults = Faults()
    with serve_in_thread(model, faults) as running:
        rows = measure(running, faults, counter, n)

    print(f"\nServiceBinding provider, N = {n} bindings, {THREADS} engine threads\n")
    print(f"{'operation':<44} {'API calls':>9} {'per binding':>11}  breakdown")
    for name, counts in rows["calls"]:
        total = sum(counts.values())
        print(f"{name:<44} {total:>9} {total / n:>11.2f}  {describe(counts)}")
    print()
    print(
        f"{'wall time at ' + str(int(LATENCY_MS)) + ' ms latency':<44} {'seconds':>9}"
    )
    bound = n * LATENCY_MS / 1000 / THREADS
    for name, seconds in rows["times"]:
        print(f"{name:<44} {seconds:>9.2f}")
    print(f"{f'bound N x latency / {THREADS} (one call per create)':<44} {bound:>9.2f}")


def measure(
    running: RunningEmulator, faults: Faults, counter: Counter, n: int
) -> dict[str, list[Any]]:
    config = {"cloudflare:apiToken": TOKEN, "cloudflare:baseUrl": running.base_url}
    (counted, timed) = list(PREFIXES)
    rows: dict[str, list[Any]] = {"calls": [], "times": []}

    cidrs = [f"198.51.100.{i}/32" for i in range(1, n + 1)]
    with ProviderProcess(config) as provider:
        counter.take()
        created, _ = create_all(provider, counted, cidrs)
        rows["calls"].append(("create (new process, 4 threads)", counter.take()))

        time.sleep(5.5)  # let the listing cached by the creates expire

        def read(item: tuple[str, dict[str, Any]]) -> str:
            return provider.read(item[0], urn(item[1]["cidr"]), item[1])[0]

        read_ids, _ = run(created, read)
        assert read_ids == [id_ for id_, _ in created], "a refresh lost a binding"
        rows["calls"].append(("refresh (listing expired)", counter.take()))

        def delete(item: tuple[str, dict[str, Any]]) -> None:
            provider.delete(item[0], urn(item[1]["cidr"]), item[1])

        run(created, delete)
        rows["calls"].append(("delete", counter.take()))
        left = running.emulator.list_bindings(ACCOUNT, counted)
        assert len(left) == 1, f"{len(left)} bindings left instead of the default"

    cidrs = [f"192.0.2.{i}/32" for i in range(1, n + 1)]
    faults.latency_ms = LATENCY_MS
    with ProviderProcess(config) as provider:
        created, seconds = create_all(provider, timed, cidrs)
        rows["times"].append((f"create {n} (gRPC, {THREADS} client threads)", seconds))
        _, seconds = run(
            created,
            lambda item: provider.read(item[0], urn(item[1]["cidr"]), item[1]),
        )
        rows["times"].append((f"refresh {n} (listing cached)", seconds))
        _, seconds = run(
            created,
            lambda item: provider.delete(item[0], urn(item[1]["cidr"]), item[1]),
        )
        rows["times"].append((f"delete {n}", seconds))
        counter.take()
    return rows


if __name__ == "__main__":
    main()
