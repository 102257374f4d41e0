"""The main job, ``scripts/dev_up.py``, where the Pulumi CLI is missing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "dev_up.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private state dir and port; kills the emulator the job started."""
    env = {
        **os.environ,
        "BYOIP_DEV_DIR": str(tmp_path),
        "BYOIP_EMULATOR_PORT": str(free_port()),
        "BYOIP_INSTALL_CLI": "1",
    }
    yield env
    pid_file = tmp_path / ".emulator" / "emulator.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def run_job(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.skipif(
    shutil.which("pulumi") is not None,
    reason="the Pulumi CLI is on PATH; this test covers the fallback without it",
)
def test_dev_up_falls_back_to_the_replay_and_is_idempotent(
    dev_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_job(dev_env)
    if "could not be installed" not in first.stdout and first.returncode == 0:
        pytest.skip("the Pulumi CLI could be downloaded here; the fallback did not run")

    assert first.returncode == 0, first.stdout + first.stderr
    port = dev_env["BYOIP_EMULATOR_PORT"]
    assert f"emulator started at http://127.0.0.1:{port}/client/v4" in first.stdout
    assert "the Pulumi CLI could not be installed" in first.stdout
    assert "falling back to the deploy replay" in first.stdout
    for line in ("203.0.113.16/29", "198.51.100.64/26", "2001:db8:100:2::/64"):
        assert line in first.stdout
    assert "(already in place)" in first.stdout  # the seeded default binding
    assert "7 binding(s) created" in first.stdout
    assert (tmp_path / ".emulator" / "state.sqlite").exists()
    pid = int((tmp_path / ".emulator" / "emulator.pid").read_text())

    second = run_job(dev_env)

    assert second.returncode == 0, second.stdout + second.stderr
    assert "already running" in second.stdout
    assert "(created)" not in second.stdout
    assert "nothing to do" in second.stdout
    assert int((tmp_path / ".emulator" / "emulator.pid").read_text()) == pid
