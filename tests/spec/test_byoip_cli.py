"""The byoip command: exit codes, output and the JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from cloudflare_byoip.cli import main

STACKS = sorted((Path(__file__).parents[2] / "stacks").glob("Pulumi.*.yaml"))

BROKEN = """\
config:
  cloudflare:apiToken:
    secure: v1:abc
  byoip:accountId: 0123456789abcdef0123456789abcdef
  byoip:prefixes:
    - name: edge-v4
      prefixId: 3f1c0a5e9b2d4c6f8a1e3b5d7f9c0a2e
      cidr: 203.0.113.0/24
      defaultService: magic_transit
      overrides:
        - cidr: 203.0.113.1/32
          service: cdn
        - cidr: 203.0.113.16/29
          service: magic_transit
  byoip:protectBindngs: true
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_stacks_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert {path.name for path in STACKS} >= {
        "Pulumi.dev.yaml",
        "Pulumi.staging.yaml",
        "Pulumi.prod.yaml",
    }
    code, out, err = run(capsys, "validate", *map(str, STACKS))
    assert (code, err) == (0, "")
    assert out.count(": ok (") == len(STACKS)


def test_invalid_file_prints_every_problem_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "Pulumi.bad.yaml", BROKEN)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:14: byoip:prefixes[0].overrides[1].service: Magic Transit can only "
        "be a prefix's default binding; bind 203.0.113.16/29 to cdn or spectrum "
        "instead",
        f"{path}:15: byoip:protectBindngs: 'protectBindngs' is not a known key; "
        "did you mean 'protectBindings'? (see the configuration reference)",
    ]


def test_missing_keys_point_at_the_nearest_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "Pulumi.x.yaml",
        """\
        config:
          byoip:accountId: 0123456789abcdef0123456789abcdef
          byoip:prefixes:
            - name: edge-v4
              cidr: 203.0.113.0/24
              defaultService: cdn
        """,
    )
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.startswith(f"{path}:4: byoip:prefixes[0].prefixId: is required")


def test_warnings_do_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "Pulumi.w.yaml",
        """\
        config:
          byoip:accountId: 0123456789abcdef0123456789abcdef
          byoip:prefixes:
            - name: edge-v4
              prefixId: 3f1c0a5e9b2d4c6f8a1e3b5d7f9c0a2e
              cidr: 203.0.113.0/24
              defaultService: magic_transit
              overrides:
                - {cidr: 203.0.113.2/32, service: cdn}
                - {cidr: 203.0.113.3/32, service: cdn}
        """,
    )
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}:8: warning: byoip:prefixes[0].overrides: ")
    assert "203.0.113.2/31" in lines[0]
    assert lines[1] == f"{path}: ok (1 prefixes, 2 overrides)"


@pytest.mark.parametrize(
    "text",
    ["config: [unclosed\n", "- just\n- a list\n", "\xff\xfe"],
)
def test_unreadable_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "Pulumi.u.yaml"
    path.write_bytes(text.encode("latin-1"))
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"{path}: ")


def test_missing_file_exits_2_and_others_are_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "validate", str(tmp_path / "nope.yaml"), str(STACKS[0])
    )
    assert code == 2
    assert "cannot be read" in err
    assert out.endswith(": ok (" + out.split(": ok (")[1])


def test_file_without_config_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "Pulumi.e.yaml", "encryptionsalt: x\n")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert "config: is missing" in out


def test_routes_prints_an_aligned_table(capsys: pytest.CaptureFixture[str]) -> None:
    dev = next(path for path in STACKS if path.name == "Pulumi.dev.yaml")
    code, out, _ = run(capsys, "routes", str(dev))
    assert code == 0
    blocks = out.strip().split("\n\n")
    config = yaml.safe_load(dev.read_text())["config"]
    assert len(blocks) == len(config["byoip:prefixes"])

    header, *rows = blocks[0].splitlines()[1:]
    assert header.split() == ["CIDR", "SERVICE", "ADDRESSES"]
    ends = {len(line) for line in [header, *rows]}
    assert len(ends) == 1, "count column is right-aligned"
    assert sum(int(row.split()[2]) for row in rows) == 256
    assert "203.0.113.1/32" in blocks[0] and "cdn" in blocks[0]


def test_routes_on_an_invalid_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "routes", str(write(tmp_path, "b.yaml", BROKEN)))
    assert code == 1
    assert "Magic Transit can only be" in out


def test_schema_accepts_the_shipped_stacks_and_rejects_typos(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in STACKS:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)

    broken = yaml.safe_load(BROKEN)
    with pytest.raises(jsonschema.ValidationError, match="protectBindngs"):
        jsonschema.validate(broken, schema)
    props = schema["properties"]["config"]["properties"]
    assert "description" in props["byoip:accountId"]


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cloudflare_byoip.cli", "validate", "/does/not/exist"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("/does/not/exist: cannot be read")
