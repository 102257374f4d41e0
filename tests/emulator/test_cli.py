"""The byoip-emulator console script, run as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cloudflare
import pytest

from tests.conftest import ACCOUNT_ID, PREFIX_V4_FREE

COMMAND = [sys.executable, "-m", "cloudflare_byoip.emulator.cli"]


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def stop(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=10)
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_the_dev_seed_and_exits_cleanly_on_signal(signum: int) -> None:
    with running() as (process, url):
        printed = time.monotonic()
        with cloudflare.Cloudflare(
            api_token="dev-token", base_url=url, max_retries=0, timeout=5
        ) as client:
            listed = list(client.addressing.prefixes.list(account_id=ACCOUNT_ID))
        answered = time.monotonic() - printed
        code, stderr = stop(process, signum)

    assert url.endswith("/client/v4")
    assert len(listed) == 3
    assert answered < 1.0
    assert code == 0
    assert "Traceback" not in stderr
    assert f"GET /client/v4/accounts/{ACCOUNT_ID}/addressing/prefixes 200" in stderr
    assert "dev-token" not in stderr


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = str(tmp_path / "emulator.sqlite")

    with running("--state", state) as (process, url):
        with cloudflare.Cloudflare(
            api_token="dev-token", base_url=url, max_retries=0
        ) as client:
            cdn = next(
                s.id
                for s in client.addressing.services.list(account_id=ACCOUNT_ID)
                if s.name == "CDN"
            )
            assert cdn is not None
            client.addressing.prefixes.service_bindings.create(
                PREFIX_V4_FREE,
                account_id=ACCOUNT_ID,
                cidr="198.51.100.0/24",
                service_id=cdn,
            )
        assert stop(process, signal.SIGTERM)[0] == 0

    with running("--state", state) as (process, url):
        with cloudflare.Cloudflare(
            api_token="dev-token", base_url=url, max_retries=0
        ) as client:
            bindings = list(
                client.addressing.prefixes.service_bindings.list(
                    PREFIX_V4_FREE, account_id=ACCOUNT_ID
                )
            )
        stop(process, signal.SIGTERM)

    assert [(b.cidr, b.service_name) for b in bindings] == [("198.51.100.0/24", "CDN")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--rate-limit", "lots"], "N/SECONDS"),
        (["serve", "--fail-rate", "2"], "from 0 to 1"),
        (["serve", "--port", "99999"], "port"),
        (["serve", "--latency-ms", "-5"], ">= 0"),
        (["serve", "--seed", "/nonexistent/seed.yaml"], "cannot read seed file"),
        (["serve", "--bogus"], "unrecognized arguments"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
