"""Hostile documents: every extract, transform and catalog document is read within bounds.

Each case writes one hostile document next to valid partners, loads it in a fresh interpreter
(``load_integration`` or ``load_catalog``, what ``build_dag`` and ``opslevel-integration validate``
call at parse time) and asserts the single problem reported — its exact ``file:line: item key``
text and a fragment of its message — and that the load took under 2 s and under 100 MB of memory
beyond the interpreter's own (its peak RSS after the load minus before it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.cli import main
from airflow_provider_opslevel.config.yaml_source import MAX_DOCUMENT_BYTES
from airflow_provider_opslevel.errors import ConfigError
from airflow_provider_opslevel.transform.coerce import problems as schema_problems

MAX_SECONDS = 2.0
MAX_EXTRA_MB = 100.0

EXTRACT = """\
extractors:
- external_kind: project
  external_id: .id
  http_polling:
    url: https://example.com/projects
"""
TRANSFORM = """\
transforms:
- external_kind: project
  opslevel_kind: service
  opslevel_identifier: .id
  on_component_not_found: create
"""
CATALOG = """\
component_types:
- alias: sentry_issue
  name: Sentry Issue
  properties:
  - alias: slug
    name: Slug
    schema: {type: string}
"""
TEN_MB = 10 * 1024 * 1024

# In a fresh interpreter: load, then report the problems, the seconds and the extra peak RSS.
CHILD = """\
import json, resource, sys, time
from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.errors import ConfigError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    load_catalog(sys.argv[2]) if sys.argv[1] == "catalog" else load_integration(sys.argv[2], sys.argv[3])
    problems = []
except ConfigError as error:
    problems = [str(problem) for problem in error.problems]
seconds = time.perf_counter() - start
extra_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # ru_maxrss is KiB
print(json.dumps({"problems": problems, "seconds": seconds, "extra_mb": extra_mb}))
"""


def alias_bomb() -> str:
    """Ten levels of ten aliases: 10^10 values once expanded, 600 bytes written."""
    lines = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def merge_chain() -> str:
    """Each mapping merges the previous one: quadratic expansion, recursion in flatten_mapping."""
    lines = ["a0: &a0 {k: v}"] + [f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: v}}" for i in range(1, 3000)]
    return "\n".join(lines) + "\n"


def schema(text: str) -> str:
    """The catalog with ``text`` as its property's schema (on line 7)."""
    return CATALOG.replace("schema: {type: string}", f"schema: {text}")


def nested_schema(levels: int) -> str:
    return schema("{items: " * levels + "{type: string}" + "}" * levels)


COMMENT_LINE = "# " + "x" * 77 + "\n"  # 80 bytes
TEN_MB_OF_COMMENTS = "extractors:\n" + COMMENT_LINE * (TEN_MB // 80)
# The line on which the size limit is crossed: line 1 is "extractors:\n" (12 bytes).
LIMIT_LINE = 2 + (MAX_DOCUMENT_BYTES - 12) // 80
ALIASES = "the file expands to more than 20,000 values (the limit; an alias counts every value of its anchor)"
DEEP = "nesting is deeper than 64 levels (the limit)"

# (id, which document is hostile, its content, expected "file:line: item key", message fragment)
CASES: list[tuple[str, str, str | bytes, str, str]] = [
    # ------------------------------------------------------------------ size, depth, expansion
    ("alias-bomb-extract", "extract", alias_bomb(), "extract.yaml:5", ALIASES),
    ("alias-bomb-transform", "transform", alias_bomb(), "transform.yaml:5", ALIASES),
    ("alias-bomb-catalog", "catalog", alias_bomb(), "catalog.yaml:5", ALIASES),
    (
        "alias-bomb-inside-schema",
        "catalog",
        "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n"
        + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 4))
        + schema("{enum: [*x3, *x3]}"),
        "catalog.yaml:11",
        ALIASES,
    ),
    ("merge-key-chain", "transform", merge_chain(), "transform.yaml:100", ALIASES),
    (
        "recursive-alias",
        "extract",
        "extractors: &a [*a]\n",
        "extract.yaml:1",
        "alias *a is used inside the value it names (a recursive alias)",
    ),
    (
        "deep-flow-10000",
        "extract",
        "extractors: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "extract.yaml:1",
        DEEP,
    ),
    ("deep-block-10000", "extract", "extractors:\n" + "- " * 10_000 + "x\n", "extract.yaml:2", DEEP),
    (
        "deep-block-mappings",
        "transform",
        "".join(" " * level + "a:\n" for level in range(200)) + " " * 200 + "x\n",
        "transform.yaml:65",
        DEEP,
    ),
    (
        "deep-json-in-schema-10000",
        "catalog",
        schema('{"items": ' * 10_000 + '{"type": "string"}' + "}" * 10_000),
        "catalog.yaml:7",
        DEEP,
    ),
    (
        "schema-deeper-than-32",
        "catalog",
        nested_schema(40),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema" + ".items" * 32,
        "the schema nests deeper than 32 levels (the limit)",
    ),
    (
        "10-MB-extract",
        "extract",
        TEN_MB_OF_COMMENTS,
        f"extract.yaml:{LIMIT_LINE}",
        f"the file has {len(TEN_MB_OF_COMMENTS):,} bytes, more than the limit of 524,288",
    ),
    (
        "10-MB-transform-one-line",
        "transform",
        "transforms: " + "x" * TEN_MB + "\n",
        "transform.yaml:1",
        f"the file has {TEN_MB + 13:,} bytes, more than the limit of 524,288",
    ),
    (
        "10-MB-catalog",
        "catalog",
        schema('"' + "x" * TEN_MB + '"'),
        "catalog.yaml:7",
        "bytes, more than the limit of 524,288",
    ),
    (
        "17-documents",
        "extract",
        "---\nx: 1\n" * 17,
        "extract.yaml:33",
        "more than 16 YAML documents in one file (the limit)",
    ),
    # --------------------------------------------------------------------- encoding and YAML
    (
        "not-utf-8",
        "extract",
        EXTRACT.encode().replace(b"/projects", b"/\xffprojects"),
        "extract.yaml:5",
        "the file is not UTF-8: byte 0xff at column 30 (invalid start byte)",
    ),
    (
        "python-tag",
        "extract",
        "extractors: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        "extract.yaml:1",
        "invalid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "undefined-alias",
        "transform",
        "transforms: *nope\n",
        "transform.yaml:1",
        "found undefined alias 'nope'",
    ),
    (
        "two-documents-repeat-a-key",
        "extract",
        EXTRACT + "---\n" + EXTRACT,
        "extract.yaml:7: extractors",
        "key 'extractors' is given more than once (first at line 1)",
    ),
    (
        "empty-file",
        "extract",
        "",
        "extract.yaml:1",
        "the file is empty; expected a mapping with the key(s) extractors, oauth",
    ),
    (
        "list-not-mapping",
        "transform",
        "- transforms\n- []\n",
        "transform.yaml:1",
        "expected a mapping with the key(s) transforms, got a list",
    ),
    # ------------------------------------------------------------------------ bad configuration
    (
        "unknown-key",
        "extract",
        EXTRACT + "    methd: GET\n",
        "extract.yaml:6: extractors[0] (project) http_polling.methd",
        "unknown key 'methd'; did you mean 'method'?",
    ),
    (
        "wrong-type",
        "extract",
        EXTRACT + "    method: [GET]\n",
        "extract.yaml:6: extractors[0] (project) http_polling.method",
        "expected a string, got a list",
    ),
    (
        "bad-jq",
        "extract",
        EXTRACT.replace("external_id: .id", "external_id: '.id |'"),
        "extract.yaml:3: extractors[0] (project) external_id",
        "invalid jq expression '.id |'",
    ),
    (
        "bad-template",
        "extract",
        EXTRACT.replace("/projects", "/{{ page"),
        "extract.yaml:5: extractors[0] (project) http_polling.url",
        "invalid template: unexpected end of template",
    ),
    (
        "missing-required-key",
        "transform",
        TRANSFORM.replace("  opslevel_kind: service\n", ""),
        "transform.yaml:2: transforms[0] (project) opslevel_kind",
        "missing required key 'opslevel_kind'",
    ),
    (
        "duplicate-key",
        "extract",
        EXTRACT + "    url: https://example.com/other\n",
        "extract.yaml:6: extractors[0] (project) http_polling.url",
        "key 'url' is given more than once (first at line 5)",
    ),
    # ------------------------------------------------------------------------ catalog schemas
    (
        "schema-as-json-string",
        "catalog",
        schema('\'{"type": "string"}\''),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema",
        "expected a JSON Schema (a mapping), got a string",
    ),
    (
        "schema-ref-file",
        "catalog",
        schema('{$ref: "file:///etc/passwd"}'),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.$ref",
        "$ref 'file:///etc/passwd' points outside the schema; only references inside it",
    ),
    (
        "schema-ref-http-nested",
        "catalog",
        schema('{type: array, items: {$ref: "http://169.254.169.254/latest/meta-data"}}'),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.items.$ref",
        "$ref 'http://169.254.169.254/latest/meta-data' points outside the schema",
    ),
    (
        "schema-redos-pattern",
        "catalog",
        schema("{type: string, pattern: '^(a+)+$'}"),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.pattern",
        "pattern '^(a+)+$' repeats a group that can match the same text in more than one way",
    ),
    (
        "schema-redos-pattern-properties",
        "catalog",
        schema("{type: object, patternProperties: {'^(\\w+\\s?)*$': {type: string}}}"),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.patternProperties",
        "repeats a group that can match the same text in more than one way",
    ),
    (
        "schema-long-pattern",
        "catalog",
        schema("{type: string, pattern: '" + "a" * 600 + "'}"),
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.pattern",
        "pattern is 600 characters long; the limit is 512",
    ),
]


@pytest.mark.parametrize(
    ("hostile", "content", "location", "fragment"),
    [
        pytest.param(kind, content, location, fragment, id=name)
        for name, kind, content, location, fragment in CASES
    ],
)
def test_hostile_document(
    tmp_path: Path, hostile: str, content: str | bytes, location: str, fragment: str
) -> None:
    documents: dict[str, str | bytes] = {"extract": EXTRACT, "transform": TRANSFORM, "catalog": CATALOG}
    documents[hostile] = content
    for kind, text in documents.items():
        data = text.encode() if isinstance(text, str) else text
        (tmp_path / f"{kind}.yaml").write_bytes(data)
    args = (
        ["catalog", "catalog.yaml"]
        if hostile == "catalog"
        else ["integration", "extract.yaml", "transform.yaml"]
    )
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0 and "Traceback" not in child.stderr, child.stderr[-2000:]
    result = json.loads(child.stdout)
    (problem,) = result["problems"]
    assert problem.startswith(f"{location}: "), problem[:300]
    assert fragment in problem
    assert result["seconds"] < MAX_SECONDS, result
    assert result["extra_mb"] < MAX_EXTRA_MB, result


# ------------------------------------------------------------------ remote references are never read


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = b'{"type": "integer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_references_are_refused_at_load_and_never_fetched(tmp_path: Path, server: str) -> None:
    """A schema that names a server or a file: the catalog refuses it; validation never reads it.

    The server and the file would both say ``{"type": "integer"}``, so a string that validates
    proves nothing was read.
    """
    target = tmp_path / "schema.json"
    target.write_text('{"type": "integer"}')
    path = tmp_path / "catalog.yaml"
    path.write_text(schema(f'{{$ref: "{server}/schema.json"}}'))
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    (problem,) = info.value.problems
    assert problem.location is not None and problem.location.key == "properties[0].schema.$ref"
    assert problem.message.startswith(f"$ref '{server}/schema.json' points outside the schema")
    # Schemas read back from OpsLevel are validated the same way, without a registry that fetches.
    for hostile in (
        {"$ref": f"{server}/schema.json"},
        {"$ref": target.as_uri()},
        {"$id": f"{server}/root", "$ref": "other.json"},
        {"type": "array", "items": {"$ref": f"{server}/items.json"}},
    ):
        assert schema_problems(["text"] if "items" in hostile else "text", hostile) == []
    assert _Recorder.requests == []
    # References inside the schema still work.
    local = {"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n"}
    assert schema_problems("text", local) == ["'text' is not of type 'integer'"]


def test_cli_validate_reports_a_hostile_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "extract.yaml").write_text(alias_bomb())
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    (tmp_path / "catalog.yaml").write_text(schema("{pattern: '(a*)*b'}"))
    status = main(["validate", "extract.yaml", "transform.yaml", "--catalog", "catalog.yaml"])
    output = capsys.readouterr()
    text = output.out + output.err
    assert status == 1
    assert f"extract.yaml:5: {ALIASES}" in text
    assert (
        "catalog.yaml:7: component_types[0] (sentry_issue) properties[0].schema.pattern: pattern '(a*)*b'"
        in text
    )
