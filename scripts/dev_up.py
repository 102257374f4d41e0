"""The main job (``make dev``): the dev stack deployed against the local emulator.

Starts the emulator in the background (or reuses the running one), then runs
``pulumi up`` on the ``dev`` stack with a local file backend. Where the Pulumi
CLI is missing and cannot be installed, it replays the deployment instead: the
stack program under mocks, every binding through the real provider process.

Environment: ``BYOIP_DEV_DIR`` (where ``.emulator/`` and ``.pulumi-state/``
go; default the project), ``BYOIP_EMULATOR_PORT`` (default 8787, the dev
stack's), ``BYOIP_INSTALL_CLI=0`` (do not try to download the CLI),
``PULUMI_CONFIG_PASSPHRASE`` (default ``dev-only-passphrase``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cloudflare_byoip.testing.replay import load_stack_config

PROJECT = Path(__file__).resolve().parents[1]
"""The project directory: Pulumi.yaml, __main__.py, stacks/."""
STACK = "dev"
"""The stack this job deploys."""
STACK_FILE = PROJECT / "stacks" / f"Pulumi.{STACK}.yaml"
"""The dev stack's configuration (the emulator's URL and token)."""
PULUMI_VERSION = "3.272.0"
"""The CLI version installed where it is missing (the SDK's own)."""
DEV_PASSPHRASE = "dev-only-passphrase"
"""Passphrase of the local backend's secrets; it protects nothing real."""
STARTUP_SECONDS = 20.0
"""How long the emulator may take to answer."""


def say(message: str) -> None:
    """One line of this job's output."""
    print(f"dev: {message}", flush=True)


def dev_dir() -> Path:
    """Where the emulator's state and the Pulumi state live."""
    return Path(os.environ.get("BYOIP_DEV_DIR", PROJECT)).resolve()


def stack_config(port: int) -> dict[str, str]:
    """The dev stack's configuration, its base URL moved to ``port``."""
    config = load_stack_config(STACK_FILE)
    parts = urlsplit(config["cloudflare:baseUrl"])
    netloc = f"{parts.hostname}:{port}"
    config["cloudflare:baseUrl"] = urlunsplit(parts._replace(netloc=netloc))
    return config


def answers(base_url: str, token: str, account_id: str) -> bool:
    """Whether an emulator (or Cloudflare) answers List Services at ``base_url``."""
    request = urllib.request.Request(
        f"{base_url}/accounts/{account_id}/addressing/services",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_emulator(config: dict[str, str], port: int) -> None:
    """Start the emulator in the background, or reuse the one answering."""
    base_url = config["cloudflare:baseUrl"]
    token, account = config["cloudflare:apiToken"], config["byoip:accountId"]
    state_dir = dev_dir() / ".emulator"
    if answers(base_url, token, account):
        say(f"emulator already running at {base_url}; reusing it")
        return

    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "emulator.log").open("ab")
    command = [
        sys.executable,
        "-m",
        "cloudflare_byoip.emulator.cli",
        "serve",
        "--port",
        str(port),
        "--state",
        str(state_dir / "state.sqlite"),
    ]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (state_dir / "emulator.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + STARTUP_SECONDS
    while not answers(base_url, token, account):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
            raise SystemExit(
                f"dev: the emulator did not start on port {port}; see "
                f"{state_dir / 'emulator.log'}"
            )
        time.sleep(0.1)
    say(
        f"emulator started at {base_url} (pid {process.pid}, state "
        f"{state_dir / 'state.sqlite'}, log {state_dir / 'emulator.log'})"
    )


def find_pulumi() -> str | None:
    """The Pulumi CLI: on PATH, or installed here by an earlier run."""
    found = shutil.which("pulumi")
    if found:
        return found
    installed = dev_dir() / ".pulumi-cli" / "bin" / "pulumi"
    return str(installed) if installed.exists() else None


def install_pulumi() -> str | None:
    """Install the pinned CLI with the Automation API; None when that fails."""
    if os.environ.get("BYOIP_INSTALL_CLI", "1") == "0":
        say("the Pulumi CLI is not installed; BYOIP_INSTALL_CLI=0 skips the download")
        return None
    from pulumi.automation import PulumiCommand
    from semver import VersionInfo

    root = dev_dir() / ".pulumi-cli"
    say(f"the Pulumi CLI is not installed; installing {PULUMI_VERSION} into {root}")
    try:
        command = PulumiCommand.install(
            root=str(root), version=VersionInfo.parse(PULUMI_VERSION)
        )
    except Exception as error:  # any failure means: no CLI on this machine
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        say(f"the Pulumi CLI could not be installed ({reason})")
        return None
    return str(Path(command.command))


def pulumi_up(pulumi: str, config: dict[str, str]) -> int:
    """Select (or create) the dev stack on the local backend and deploy it."""
    state = dev_dir() / ".pulumi-state"
    state.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get(
            "PULUMI_CONFIG_PASSPHRASE", DEV_PASSPHRASE
        ),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    say(f"using the local backend file://{state}")
    extra: list[str] = []
    shipped = load_stack_config(STACK_FILE)["cloudflare:baseUrl"]
    if config["cloudflare:baseUrl"] != shipped:
        # Another port: deploy with a copy of the stack file pointing at it.
        moved = dev_dir() / ".emulator" / f"Pulumi.{STACK}.yaml"
        text = STACK_FILE.read_text(encoding="utf-8")
        moved.write_text(
            text.replace(shipped, config["cloudflare:baseUrl"]), encoding="utf-8"
        )
        extra = ["--config-file", str(moved)]
    steps = [
        [pulumi, "login", f"file://{state}"],
        [pulumi, "stack", "select", "--create", STACK, *extra],
        [pulumi, "up", "--yes", "--stack", STACK, *extra],
    ]
    for step in steps:
        say("$ " + " ".join(step[1:]))
        code = subprocess.call(step, cwd=PROJECT, env=env)
        if code != 0:
            return code
    return 0


def replay(config: dict[str, str]) -> int:
    """Deploy the dev stack without the CLI and print what the emulator holds."""
    from cloudflare_byoip.spec import routing_table, validate_stack
    from cloudflare_byoip.testing.replay import replay_up

    say(
        "falling back to the deploy replay: the stack program under Pulumi mocks, "
        "each binding created or adopted by the real provider over gRPC"
    )
    existing = set(_binding_ids(config))
    deployment = replay_up(PROJECT / "__main__.py", config, stack=STACK)
    spec = validate_stack(config)
    created = 0
    for prefix in spec.prefixes:
        print(f"\n{prefix.name} ({prefix.cidr}, prefix {prefix.prefix_id})")
        print("  bindings:")
        for binding in deployment.bindings:
            if binding.registration.inputs["prefix_id"] != prefix.prefix_id:
                continue
            adopted = binding.id in existing
            created += not adopted
            print(
                f"    {binding.cidr:<22} {binding.service:<14} {binding.id}  "
                f"{binding.outputs.get('provisioning_state')}"
                f"{'  (already in place)' if adopted else '  (created)'}"
            )
        print("  routes:")
        for route in routing_table(prefix):
            print(f"    {route.cidr:<22} {route.service.value}")
    print()
    if created:
        say(f"done: {created} binding(s) created, the rest already in place")
    else:
        say("done: every binding was already in place; nothing to do")
    return 0


def _binding_ids(config: dict[str, str]) -> list[str]:
    """The ids of every binding the emulator holds on the stack's prefixes."""
    import cloudflare

    from cloudflare_byoip.spec import validate_stack

    spec = validate_stack(config)
    client = cloudflare.Cloudflare(
        api_token=config["cloudflare:apiToken"],
        base_url=config["cloudflare:baseUrl"],
        max_retries=3,
    )
    with client:
        return [
            binding.id or ""
            for prefix in spec.prefixes
            for binding in client.addressing.prefixes.service_bindings.list(
                str(prefix.prefix_id), account_id=spec.account_id
            )
        ]


def main() -> int:
    """Run the main job; return the exit status."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    port = int(os.environ.get("BYOIP_EMULATOR_PORT", "8787"))
    config = stack_config(port)
    start_emulator(config, port)

    pulumi = find_pulumi() or install_pulumi()
    if pulumi is not None:
        return pulumi_up(pulumi, config)
    say(
        "the Pulumi CLI is not available here (it cannot be installed without "
        "access to get.pulumi.com)"
    )
    return replay(config)


if __name__ == "__main__":
    sys.exit(main())
