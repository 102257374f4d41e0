"""The stack program (``__main__.py``) under mocks, with each stack file's config."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pulumi
import pytest

from cloudflare_byoip.emulator.cli import dev_seed_path
from cloudflare_byoip.emulator.models import load_seed
from cloudflare_byoip.spec import validate_stack
from cloudflare_byoip.testing import (
    COMPONENT_TYPE,
    SERVICE_BINDING_TYPE,
    ByoipMocks,
)
from cloudflare_byoip.testing.replay import load_stack_config, record_program

from .conftest import ROOT

PROGRAM = ROOT / "__main__.py"
STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack_file", STACKS, ids=lambda p: Path(p).stem)
def test_every_stack_file_is_valid(stack_file: Path) -> None:
    spec = validate_stack(load_stack_config(stack_file))
    assert spec.prefixes


def test_prod_protects_bindings_and_no_token_is_committed() -> None:
    for stack_file in STACKS:
        config = load_stack_config(stack_file)
        if "dev" not in stack_file.name:
            assert "cloudflare:apiToken" not in config
            assert "cloudflare:baseUrl" not in config
    assert validate_stack(
        load_stack_config(ROOT / "stacks/Pulumi.prod.yaml")
    ).protect_bindings


def test_dev_program_registers_one_component_per_prefix(mocks: ByoipMocks) -> None:
    config = load_stack_config(ROOT / "stacks/Pulumi.dev.yaml")
    spec = validate_stack(config)

    monitor = record_program(PROGRAM, config, mocks=mocks)

    components = monitor.of_type(COMPONENT_TYPE)
    assert sorted(c.name for c in components) == sorted(p.name for p in spec.prefixes)
    bindings = monitor.of_type(SERVICE_BINDING_TYPE)
    assert len(bindings) == sum(1 + len(p.overrides) for p in spec.prefixes)
    for prefix in spec.prefixes:
        api = mocks.emulator.list_bindings(spec.account_id, str(prefix.prefix_id))
        expected = {(prefix.cidr, prefix.default_service.display_name)} | {
            (o.cidr, o.service.display_name) for o in prefix.overrides
        }
        assert {(b["cidr"], b["service_name"]) for b in api} == expected
    edge = monitor.by_name("edge-v4").outputs
    assert set(edge["bindings"]) == {
        "203.0.113.0/24",
        "203.0.113.1/32",
        "203.0.113.16/29",
    }


def test_stack_wide_flags_reach_every_binding() -> None:
    config = load_stack_config(ROOT / "stacks/Pulumi.dev.yaml")
    config["byoip:protectBindings"] = "true"
    config["byoip:retainDefaultOnDelete"] = "false"
    config["byoip:adoptExisting"] = "false"

    seed = load_seed(dev_seed_path())
    for prefix in seed["accounts"][0]["prefixes"]:
        prefix.pop("bindings", None)
    monitor = record_program(PROGRAM, config, mocks=ByoipMocks.from_seed(seed))

    bindings = monitor.of_type(SERVICE_BINDING_TYPE)
    assert {b.protect for b in bindings} == {True}
    assert {b.retain_on_delete for b in bindings} == {False}
    assert {b.inputs["adopt_existing"] for b in bindings} == {False}


def test_bad_config_logs_every_problem_and_registers_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = load_stack_config(ROOT / "stacks/Pulumi.dev.yaml")
    prefixes = json.loads(config["byoip:prefixes"])
    prefixes[0]["overrides"][0]["service"] = "magic_transit"
    prefixes[1]["cidr"] = "198.51.100.0/25"
    config["byoip:prefixes"] = json.dumps(prefixes)
    config["byoip:protectBindingz"] = "true"
    mocks = ByoipMocks()

    with caplog.at_level(logging.ERROR), pytest.raises(pulumi.RunError) as raised:
        record_program(PROGRAM, config, mocks=mocks, stack="dev")

    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and r.getMessage().startswith("stacks/")
    ]
    located = {tuple(message.split(": ", 2)[:2]) for message in errors}
    lines = (ROOT / "stacks/Pulumi.dev.yaml").read_text().splitlines()
    file = "stacks/Pulumi.dev.yaml"
    service_line = lines.index("          service: cdn") + 1
    cidr_line = lines.index("      cidr: 198.51.100.0/24") + 1
    config_line = lines.index("config:") + 1  # a key not in the file: its section
    assert located == {
        (f"{file}:{service_line}", "byoip:prefixes[0].overrides[0].service"),
        (f"{file}:{cidr_line}", "byoip:prefixes[1].cidr"),
        (f"{file}:{config_line}", "byoip:protectBindingz"),
    }
    assert "stacks/Pulumi.dev.yaml" in str(raised.value)
    assert f"has {len(errors)} problems" in str(raised.value)
    assert mocks.emulator.snapshot()["accounts"] == {}
