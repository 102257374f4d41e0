"""The ``byoip`` command: check stack files, print routing tables, emit the schema.

It needs neither Pulumi's CLI nor the network, so a pull request can run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .spec import NAMESPACE, SpecError, StackSpec, routing_table
from .stackfile import StackFile, UnreadableFile

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _load(name: str, out: TextIO, err: TextIO) -> tuple[StackFile, StackSpec] | int:
    """The file and its valid spec, or the exit code after printing why not."""
    try:
        stack = StackFile.load(Path(name))
        return stack, stack.validate()
    except UnreadableFile as error:
        print(error, file=err)
        return EXIT_UNREADABLE
    except SpecError as error:
        for problem in error.problems:
            print(stack.format(problem), file=out)
        return EXIT_INVALID


def cmd_validate(files: Sequence[str], out: TextIO, err: TextIO) -> int:
    status = EXIT_OK
    for name in files:
        loaded = _load(name, out, err)
        if isinstance(loaded, int):
            status = max(status, loaded)
            continue
        stack, spec = loaded
        for warning in spec.warnings:
            print(stack.format(warning, "warning"), file=out)
        overrides = sum(len(prefix.overrides) for prefix in spec.prefixes)
        print(
            f"{name}: ok ({len(spec.prefixes)} prefixes, {overrides} overrides)",
            file=out,
        )
    return status


def cmd_routes(name: str, out: TextIO, err: TextIO) -> int:
    loaded = _load(name, out, err)
    if isinstance(loaded, int):
        return loaded
    _, spec = loaded

    for number, prefix in enumerate(spec.prefixes):
        if number:
            print(file=out)
        print(f"{prefix.name} {prefix.cidr} (prefix {prefix.prefix_id})", file=out)
        rows = [("CIDR", "SERVICE", "ADDRESSES")] + [
            (route.cidr, route.service.value, str(route.addresses))
            for route in routing_table(prefix)
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for cidr, service, count in rows:
            print(
                f"  {cidr:<{widths[0]}}  {service:<{widths[1]}}  {count:>{widths[2]}}",
                file=out,
            )
    return EXIT_OK


def stack_file_schema() -> dict[str, Any]:
    """JSON Schema of a ``Pulumi.<stack>.yaml`` file's ``byoip:`` settings."""
    inner = StackSpec.model_json_schema(by_alias=True)
    definitions = inner.pop("$defs", {})
    properties = {
        f"{NAMESPACE}:{key}": value for key, value in inner["properties"].items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Pulumi stack file with cloudflare-byoip settings",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": [f"{NAMESPACE}:{key}" for key in inner["required"]],
                "patternProperties": {f"^(?!{NAMESPACE}:)": {}},
                "additionalProperties": False,
            }
        },
        "$defs": definitions,
    }


def cmd_schema(out: TextIO) -> int:
    print(json.dumps(stack_file_schema(), indent=2), file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="byoip",
        description="Check Cloudflare BYOIP binding plans offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="check stack files against every offline rule"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    routes = commands.add_parser(
        "routes", help="print each prefix's routing table from a stack file"
    )
    routes.add_argument("file", metavar="FILE")
    commands.add_parser("schema", help="print the JSON Schema of the byoip: settings")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return cmd_validate(args.files, sys.stdout, sys.stderr)
    if args.command == "routes":
        return cmd_routes(args.file, sys.stdout, sys.stderr)
    return cmd_schema(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
