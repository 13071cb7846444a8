"""MkDocs hook: the reference pages that are generated from the code at every build.

Nothing here is committed as Markdown, so none of these pages can drift from the program:

- ``reference/cli.md``: the ``--help`` of ``samverkan`` and of every subcommand, from the
  same argument parsers the command line uses (``build_parser(every=True)``);
- ``reference/routine-language.md`` and ``reference/scenario-format.md``: every key of a
  routine file and of a scenario file, from the JSON Schemas the models produce;
- ``reference/http-api.md`` and ``reference/openapi.json``: the routes of the HTTP service,
  from the OpenAPI document the service serves at ``GET /openapi.json``: the build starts
  ``samverkan serve`` over ``routines/`` on a free loopback port and asks it (needs the
  ``serve`` extra).

The event vocabulary (``docs/vocabulary.md``) is committed and checked against its YAML by
``tests/language/test_reference.py``; the Python API is read from the docstrings by
mkdocstrings.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from samverkan_rules.cli import build_parser
from samverkan_rules.schemas import routine_schema, scenario_schema

HELP_WIDTH = 88
"""The width of the help texts, whatever the terminal of the build is."""

_METHODS = ("get", "post", "put", "patch", "delete")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def served_openapi(timeout: float = 60.0) -> dict[str, Any]:
    """The OpenAPI document ``samverkan serve`` serves over the repository's routines."""
    token = secrets.token_urlsafe(24)
    port = _free_port()
    with tempfile.TemporaryDirectory() as store:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samverkan_rules",
                "serve",
                "--routines",
                "routines",
                "--store",
                store,
                "--port",
                str(port),
                "--log-level",
                "error",
            ],
            cwd=ROOT,
            env=os.environ | {"SAMVERKAN_TOKEN": token},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            return _ask(server, port, token, timeout)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _ask(server: subprocess.Popen[bytes], port: int, token: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/openapi.json", headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise RuntimeError(f"samverkan serve stopped before answering: {err}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                document: dict[str, Any] = json.load(answer)
                return document
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"samverkan serve did not answer /openapi.json within {timeout} s")


def _help(parser: argparse.ArgumentParser) -> str:
    """The parser's ``--help`` at a fixed width."""
    parser.formatter_class = functools.partial(parser.formatter_class, width=HELP_WIDTH)  # type: ignore[assignment]
    return parser.format_help()


def cli_markdown() -> str:
    """The CLI reference page: ``samverkan --help`` and each subcommand's ``--help``."""
    parser = build_parser(every=True)
    lines = [
        "# Command line",
        "",
        "Generated at every build from the program's own argument parsers: what you read here",
        "is what `samverkan COMMAND --help` prints.",
        "",
        "## `samverkan`",
        "",
        "```text",
        _help(parser).rstrip(),
        "```",
    ]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in commands.items():
        lines += ["", f"## `samverkan {name}`", "", "```text", _help(sub).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _kind(node: dict[str, Any]) -> str:
    """A short type for a schema node: ``string``, ``list of Rule``, ``Role`` ..."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in node:
        kinds = [_kind(n) for n in node["anyOf"] if n.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if node.get("type") == "array":
        return "list of " + _kind(node.get("items", {}))
    if node.get("type") == "object" and "additionalProperties" in node:
        extra = node["additionalProperties"]
        return "map of " + (_kind(extra) if isinstance(extra, dict) else "values")
    if "enum" in node:
        return ", ".join(f"`{v}`" for v in node["enum"])
    return str(node.get("type", "any"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _object_table(node: dict[str, Any]) -> list[str]:
    """The keys of one schema object as a Markdown table."""
    required = set(node.get("required", ()))
    rows = ["| Key | Type | Required | Meaning |", "|---|---|---|---|"]
    for key, spec in node.get("properties", {}).items():
        need = "yes" if key in required else "no"
        rows.append(f"| `{key}` | {_kind(spec)} | {need} | {_cell(spec.get('description', ''))} |")
    return rows


def schema_markdown(schema: dict[str, Any], title: str, intro: str, top: str) -> str:
    """Every key of a file format, from its JSON Schema: the top level, then each part."""
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        f"## {top}",
        "",
        _cell(schema.get("description", "")),
        "",
        *_object_table(schema),
    ]
    for name, node in sorted(schema.get("$defs", {}).items()):
        lines += ["", f"## {name}", ""]
        if node.get("description"):
            lines += [_cell(node["description"]), ""]
        if node.get("properties"):
            lines += _object_table(node)
        else:
            lines.append(f"Type: {_kind(node)}")
    return "\n".join(lines) + "\n"


def routine_language_markdown() -> str:
    """Every key of a routine file, from the JSON Schema of the routine models."""
    intro = (
        "Generated at every build from the routine models' JSON Schema "
        "(`schemas/routine.schema.json`, `samverkan schema`), so it lists exactly the keys "
        "`samverkan validate` accepts. The how-to guides show each construct at work."
    )
    return schema_markdown(
        routine_schema(), "Routine language: every key", intro, "The routine file"
    )


def scenario_markdown() -> str:
    """Every key of a scenario file, from the JSON Schema of the scenario models."""
    intro = (
        "Generated at every build from the scenario files' JSON Schema "
        "(`schemas/scenario.schema.json`). Scenario files live in "
        "`tests/<routine id>/*.yaml` beside the routines and run with `samverkan test`; "
        "the [policy author's tutorial](../tutorials/policy-author.md) writes one."
    )
    return schema_markdown(
        scenario_schema(), "Scenario format: every key", intro, "The scenario file"
    )


def http_markdown(document: dict[str, Any]) -> str:
    """The HTTP reference page: every route of the OpenAPI document, and the document."""
    info = document.get("info", {})
    lines = [
        "# HTTP API",
        "",
        "Generated at every build from the OpenAPI document the service serves at",
        "`GET /openapi.json` (OpenAPI " + str(document.get("openapi", "?")) + ", "
        f"{_cell(info.get('title', ''))}). The whole document: [openapi.json](openapi.json).",
        "",
        "| Method | Path | What it does |",
        "|---|---|---|",
    ]
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                op = item[method]
                summary = _cell(op.get("summary") or op.get("description") or "")
                lines.append(f"| `{method.upper()}` | `{path}` | {summary} |")
    return "\n".join(lines) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated reference pages to the site."""
    document = served_openapi()
    pages = {
        "reference/cli.md": cli_markdown(),
        "reference/routine-language.md": routine_language_markdown(),
        "reference/scenario-format.md": scenario_markdown(),
        "reference/http-api.md": http_markdown(document),
        "reference/openapi.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n",
    }
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    return files
