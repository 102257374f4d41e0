"""The whole life cycle through the Automation API: preview, up, refresh, destroy.

It needs the Pulumi CLI, which cannot be installed on machines without
internet access; there it skips. Config is passed explicitly, because
LocalWorkspace ignores ``stackConfigDir`` (pulumi/pulumi#10305).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.spec import validate_stack
from cloudflare_byoip.testing.replay import load_stack_config

from .conftest import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="the Pulumi CLI is not on PATH (it cannot be installed without "
    "internet access); the deploy replay covers the same path without it",
)


def test_preview_up_refresh_destroy(emulator: RunningEmulator, tmp_path: Path) -> None:
    from pulumi import automation as auto

    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(ROOT / "__main__.py", work / "__main__.py")
    config = load_stack_config(ROOT / "stacks/Pulumi.dev.yaml")
    config["cloudflare:baseUrl"] = emulator.base_url
    config["cloudflare:apiToken"] = "test-token"
    spec = validate_stack(config)
    (tmp_path / "state").mkdir()
    settings = auto.ProjectSettings(
        name="cloudflare-byoip",
        runtime=auto.ProjectRuntimeInfo("python", {"virtualenv": str(ROOT / ".venv")}),
    )
    stack = auto.create_or_select_stack(
        "automation",
        work_dir=str(work),
        opts=auto.LocalWorkspaceOptions(
            project_settings=settings,
            secrets_provider="passphrase",
            env_vars={
                "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": "test-only",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
            },
        ),
    )
    stack.set_all_config(
        {
            key: auto.ConfigValue(value, secret=key == "cloudflare:apiToken")
            for key, value in config.items()
        }
    )

    def bound() -> set[tuple[str, str]]:
        return {
            (b["cidr"], b["service_name"])
            for p in spec.prefixes
            for b in emulator.emulator.list_bindings(spec.account_id, str(p.prefix_id))
        }

    preview = stack.preview()
    assert preview.change_summary.get("create", 0) >= 8 + len(spec.prefixes)

    up = stack.up()
    assert up.summary.result == "succeeded"
    assert len(bound()) == 8
    assert set(up.outputs["edge-v4"].value["bindings"]) == {
        "203.0.113.0/24",
        "203.0.113.1/32",
        "203.0.113.16/29",
    }

    refresh = stack.refresh()
    assert refresh.summary.result == "succeeded"
    again = stack.up()
    assert again.summary.resource_changes.get("create", 0) == 0

    stack.destroy()
    assert bound() == {(p.cidr, p.default_service.display_name) for p in spec.prefixes}
    stack.workspace.remove_stack("automation")
