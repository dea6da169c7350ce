"""``opslevel-integration``: check an integration without the scheduler.

``opslevel-integration validate EXTRACT TRANSFORM [--catalog CATALOG]``
    Loads and validates the documents offline (no network, no Airflow import): prints ``OK``
    and a summary, or every problem with file and line on stderr (exit 1).

``opslevel-integration test EXTRACT TRANSFORM [options]``
    OpsLevel's *Run Test* button from a shell: makes the real HTTP calls (a few pages, a few
    parents) and shows, per extractor, the first raw page and the records kept; per transform,
    the components the records map to; and the plan against OpsLevel (a dry run: nothing is
    written, nothing is ever proposed for deletion). Secrets and the OpsLevel connection are
    Airflow connections, resolved as a task would (environment variables ``AIRFLOW_CONN_*``,
    secrets backends) and, outside a task, also from the metadata database.

Exit status: 0 all read and mapped (``validate``: valid), 1 something failed (printed),
2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.config import Integration, load_integration
from airflow_provider_opslevel.errors import ConfigError, OpsLevelIntegrationError
from airflow_provider_opslevel.extract.http import HttpFetcher
from airflow_provider_opslevel.extract.oauth import oauth_client
from airflow_provider_opslevel.extract.results import collect, to_chunks
from airflow_provider_opslevel.extract.runner import ExtractorRunner, PartitionResult
from airflow_provider_opslevel.secrets import REDACTED, SecretRecorder
from airflow_provider_opslevel.transform.deletion import DeletionPolicy
from airflow_provider_opslevel.transform.mapping import (
    DesiredComponent,
    MappingIssue,
    issue_of,
    map_record,
    map_records,
)
from airflow_provider_opslevel.transform.sync import (
    SyncOptions,
    plan_sync,
    property_routes,
    property_table,
    table,
)

PROG = "opslevel-integration"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# How much of a raw page the text output shows.
PAGE_LINES = 60
PAGE_CHARS = 4000
# How much of one record's data a text line shows.
RECORD_CHARS = 200
# What ``--json`` carries at most: the first page, and each shown record's data or component's
# field, as compact JSON; a larger value becomes its first characters and a truncation marker, so a
# 50 MB page never reaches stdout.
JSON_PAGE_CHARS = 64 * 1024
JSON_VALUE_CHARS = 2000

DELETION_NOTE = (
    "Deletions: none planned. The test plans without an integration id "
    "(DeletionPolicy(integration_id=None)), so nothing is ever proposed for deletion: with "
    "--max-pages and --max-parents the reads are partial by design, and a component missing from "
    "a partial read proves nothing. The DAG's transform task decides deletions from complete reads."
)


# -- arguments -----------------------------------------------------------------------------------


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _origin(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    source, target = source.strip().rstrip("/"), target.strip().rstrip("/")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"expected FROM=TO (two URLs joined by '='), got {text!r}")
    for url in (source, target):
        if not url.startswith(("http://", "https://")):
            raise argparse.ArgumentTypeError(f"{url!r} is not an http(s) URL (in {text!r})")
    return source, target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate or test-run an OpsLevel-style custom integration (extract + transform YAML).",
        epilog="Exit status: 0 ok, 1 something failed (printed), 2 usage error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def documents(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("extract", metavar="EXTRACT", help="the extract YAML (extractors:)")
        sub.add_argument(
            "transform", metavar="TRANSFORM", help="the transform YAML (transforms:); may be EXTRACT again"
        )
        sub.add_argument(
            "--catalog", metavar="CATALOG", help="the catalog document (component types, relationships)"
        )
        sub.add_argument("--json", action="store_true", help="print one JSON document instead of text")

    validate = commands.add_parser(
        "validate",
        help="load and validate the documents offline",
        description="Load and validate the documents: no network, no Airflow. Prints OK and a summary, "
        "or every problem (file:line) on stderr and exits 1.",
    )
    documents(validate)

    test = commands.add_parser(
        "test",
        help="Run Test: real calls, first page, records, mapped components, dry-run plan",
        description="Like OpsLevel's Run Test: read a few pages from the source, map the records and plan "
        "against OpsLevel without writing anything. Connections are Airflow connections "
        "(AIRFLOW_CONN_* environment variables, secrets backends or the metadata database).",
    )
    documents(test)
    test.add_argument(
        "--max-pages", type=_count, default=1, metavar="N", help="pages per partition (default 1; 0 = all)"
    )
    test.add_argument(
        "--max-parents",
        type=_count,
        default=3,
        metavar="N",
        help="parent records a for_each child runs for (default 3; 0 = all)",
    )
    test.add_argument(
        "--records", type=_count, default=5, metavar="N", help="records and components shown (default 5)"
    )
    test.add_argument(
        "--conn-id",
        default="opslevel_default",
        metavar="CONN_ID",
        help="the OpsLevel Airflow connection (default opslevel_default)",
    )
    test.add_argument(
        "--rewrite-origin",
        type=_origin,
        action="append",
        default=[],
        metavar="FROM=TO",
        help="point URLs starting with FROM at TO, e.g. https://sentry.io=https://sentry.example.com "
        "(repeatable)",
    )
    test.add_argument(
        "--no-opslevel", action="store_true", help="skip the plan against OpsLevel (extract and map only)"
    )
    test.add_argument("-v", "--verbose", action="store_true", help="show the engine's log on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script. Returns the exit status (``sys.exit(main())``)."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "validate":
        return cmd_validate(args, out, err)
    try:
        return cmd_test(args, out, err)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return EXIT_FAILED


# -- shared helpers --------------------------------------------------------------------------------


def _config_problems(exc: ConfigError) -> list[str]:
    return [str(problem) for problem in exc.problems] or [str(exc)]


def load_documents(
    extract: str, transform: str, catalog: str | None
) -> tuple[Integration | None, CatalogDocument | None, list[str]]:
    """Both documents (and the catalog), or every problem found in them."""
    problems: list[str] = []
    integration = document = None
    try:
        integration = load_integration(extract, transform)
    except ConfigError as exc:
        problems += _config_problems(exc)
    if catalog:
        try:
            document = load_catalog(catalog)
        except ConfigError as exc:
            problems += _config_problems(exc)
    return integration, document, problems


def summary(integration: Integration, document: CatalogDocument | None) -> dict[str, Any]:
    """What the documents declare, JSON-able."""
    extractors: list[dict[str, Any]] = []
    for extractor in integration.ordered():
        polling = extractor.http_polling
        extractors.append(
            {
                "external_kind": extractor.external_kind,
                "method": polling.method if polling else None,
                "for_each": extractor.for_each,
                "push": extractor.is_push,
                "secrets": sorted(polling.secret_names) if polling else [],
            }
        )
    transforms = [
        {
            "external_kind": t.external_kind,
            "opslevel_kind": t.opslevel_kind,
            "on_component_not_found": t.on_component_not_found,
            "properties": sorted(t.properties),
            "default_properties": [name for name, _ in t.default_properties.items()],
        }
        for t in integration.transforms
    ]
    catalog = None
    if document is not None:
        catalog = {
            "component_types": [
                {"alias": spec.alias, "properties": [p.alias for p in spec.properties]}
                for spec in document.component_types
            ],
            "relationship_definitions": [spec.alias for spec in document.relationship_definitions],
        }
    return {
        "extractors": extractors,
        "transforms": transforms,
        "kinds": {
            "external": [e.external_kind for e in integration.extractors],
            "opslevel": sorted({t.opslevel_kind for t in integration.transforms}),
        },
        "secrets": sorted({name for e in extractors for name in e["secrets"]}),
        "catalog": catalog,
        "property_keys": offline_property_keys(integration, document),
    }


def offline_property_keys(integration: Integration, document: CatalogDocument | None) -> list[dict[str, str]]:
    """Where each ``properties:`` key goes, judged by the catalog document's types (no network)."""
    from airflow_provider_opslevel.catalog_setup.planning import declared_component_types

    declared = declared_component_types(document) if document is not None else {}
    return property_routes(integration.transforms, declared)


def summary_text(info: dict[str, Any]) -> list[str]:
    lines = [f"extractors ({len(info['extractors'])}, parents first):"]
    rows = [
        [
            e["external_kind"],
            e["method"] or "push",
            f"for_each {e['for_each']}" if e["for_each"] else ("push" if e["push"] else "root"),
        ]
        for e in info["extractors"]
    ]
    lines += ["  " + line for line in table(["external_kind", "method", "runs"], rows).splitlines()]
    lines.append(f"transforms ({len(info['transforms'])}):")
    for t in info["transforms"]:
        mapped = [*t["default_properties"], *t["properties"]]
        lines.append(
            f"  {t['external_kind']} -> {t['opslevel_kind']} (on_component_not_found: "
            f"{t['on_component_not_found']}; properties: {', '.join(mapped) or 'none'})"
        )
    kinds = info["kinds"]
    lines.append(
        f"kinds: external {', '.join(kinds['external'])}; OpsLevel {', '.join(kinds['opslevel']) or 'none'}"
    )
    lines.append(f"secrets: {', '.join(info['secrets']) or 'none'}")
    lines += property_keys_text(info["property_keys"])
    catalog = info["catalog"]
    if catalog is not None:
        types = ", ".join(
            f"{t['alias']} ({len(t['properties'])} properties)" for t in catalog["component_types"]
        )
        lines.append(
            f"catalog: component types {types or 'none'}; relationship definitions "
            f"{', '.join(catalog['relationship_definitions']) or 'none'}"
        )
    return lines


def property_keys_text(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return []
    return [
        "properties keys (OpsLevel's definitions of the component type decide at run time):",
        *("  " + line for line in property_table(rows).splitlines()),
    ]


def _dump(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=str, **kwargs)


def truncate_lines(
    text: str, max_lines: int = PAGE_LINES, max_chars: int = PAGE_CHARS
) -> tuple[str, str | None]:
    """``text`` cut to a readable size, and a note saying how much was left out (or ``None``)."""
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines[:max_lines]:
        if size + len(line) > max_chars and kept:
            break
        kept.append(line[:max_chars])
        size += len(line) + 1
    if len(kept) == len(lines) and size <= max_chars + 1:
        return text, None
    return "\n".join(kept), (
        f"... truncated: showing {len(kept)} of {len(lines)} lines ({len(text)} characters); "
        f"--json shows up to {JSON_PAGE_CHARS // 1024} KiB"
    )


def capped(value: Any, limit: int) -> Any:
    """``value`` itself if its compact JSON fits in ``limit`` characters, else that JSON cut to
    ``limit`` with a ``... (truncated, N characters)`` marker. Redact before capping: a secret cut
    in two would no longer be recognised."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else _dump(value, separators=(",", ":"))
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... (truncated, {len(text)} characters)"


def short(value: Any, limit: int = RECORD_CHARS) -> str:
    text = _dump(value, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- validate --------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    integration, document, problems = load_documents(args.extract, args.transform, args.catalog)
    if problems or integration is None:
        if args.json:
            print(_dump({"ok": False, "problems": problems}, indent=2), file=out)
        print(f"{len(problems)} problem(s):", file=err)
        for problem in problems:
            print(f"  {problem}", file=err)
        return EXIT_FAILED
    info = summary(integration, document)
    if args.json:
        print(_dump({"ok": True, "problems": [], **info}, indent=2), file=out)
        return EXIT_OK
    files = [args.extract] if args.extract == args.transform else [args.extract, args.transform]
    if args.catalog:
        files.append(args.catalog)
    print(f"OK: {', '.join(files)}", file=out)
    for line in summary_text(info):
        print(line, file=out)
    return EXIT_OK


# -- connections outside a task --------------------------------------------------------------------


class ConnectionLookup:
    """Airflow connections for a process that is not a running task.

    In Airflow 3 the Task SDK's ``BaseHook.get_connection`` outside a task (no supervisor) only
    searches the ``AIRFLOW_CONN_*`` environment variables and a configured secrets backend, not
    the metadata database. A connection it cannot find is looked up again with core's
    ``Connection.get_connection_from_secrets`` (secrets backend, environment, metadata database).
    Every password handed out is remembered, so output can be redacted.
    """

    def __init__(self) -> None:
        self.passwords: set[str] = set()

    def __call__(self, conn_id: str) -> Any:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.sdk import BaseHook

        try:
            conn: Any = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            conn = self._from_metadata_db(conn_id)
        if conn.password:
            self.passwords.add(conn.password)
        return conn

    @staticmethod
    def _from_metadata_db(conn_id: str) -> Any:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection

        try:
            return Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            raise
        except Exception as exc:  # no database, not migrated, unreachable: the connection is not there
            # The exception text may quote the database URL (and its password): name the type only.
            raise AirflowNotFoundException(
                f"The conn_id `{conn_id}` isn't defined (the metadata database could not be read: "
                f"{type(exc).__name__})"
            ) from None


def secret_resolver(lookup: ConnectionLookup) -> Callable[[str], str]:
    """``{{ 'name' | secret }}``: connection ``name``'s password, found through ``lookup``."""
    from airflow_provider_opslevel.connections import password_resolver

    return password_resolver(lookup)


def opslevel_hook(conn_id: str, lookup: ConnectionLookup) -> Any:
    """An :class:`OpsLevelHook` whose connection comes from :class:`ConnectionLookup`."""
    from airflow_provider_opslevel.hooks.opslevel import OpsLevelHook

    class CliOpsLevelHook(OpsLevelHook):
        @classmethod
        def get_connection(cls, conn_id: str) -> Any:
            return lookup(conn_id)

    return CliOpsLevelHook(opslevel_conn_id=conn_id)


def how_to_create_opslevel(conn_id: str) -> str:
    return (
        f"create it with `airflow connections add {conn_id} --conn-type opslevel --conn-host "
        f"https://app.opslevel.com --conn-password '<API token>'`, or as the environment variable "
        f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "opslevel", "host": "https://app.opslevel.com", '
        f'"password": "<API token>"}}\'; or pass --no-opslevel to skip the plan'
    )


class Redactor:
    """Replaces every secret value (template secrets and connection passwords) with ``***``."""

    def __init__(self, recorder: SecretRecorder, lookup: ConnectionLookup) -> None:
        self.recorder = recorder
        self.lookup = lookup

    def _values(self) -> list[str]:
        values = {v for v in [*self.recorder.values, *self.lookup.passwords] if v}
        forms = set(values)
        for value in values:  # as they appear inside JSON text
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        return sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values():
            text = text.replace(value, REDACTED)
        return text

    def value(self, data: Any) -> Any:
        """A copy of a JSON value with every string (keys included) redacted."""
        if isinstance(data, str):
            return self(data)
        if isinstance(data, dict):
            return {self(str(k)): self.value(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(v) for v in data]
        return data


@contextlib.contextmanager
def airflow_output(err: IO[str], verbose: bool) -> Iterator[None]:
    """Import Airflow with its log on ``err``: stdout carries only the report (``--json`` parses)."""
    import airflow_provider_opslevel.connections  # noqa: F401  (imports Airflow, which sets up logging)

    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            moved.append((handler, handler.stream))
            handler.setStream(err)
    package = logging.getLogger("airflow_provider_opslevel")
    level = package.level
    if not verbose:  # the report says everything the engine logs, once
        package.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(err):
            yield
    finally:
        package.setLevel(level)
        for handler, stream in moved:
            handler.setStream(stream)


# -- test --------------------------------------------------------------------------------------------


def _http_hint(error: str, secret_names: Sequence[str]) -> str:
    if any(f"answered HTTP {status}" in error for status in (401, 403)):
        used = f" (this request used the secret(s) {', '.join(secret_names)})" if secret_names else ""
        return (
            f"; hint: HTTP 401/403 means the API refused the credentials{used}: check the password of "
            "that Airflow connection"
        )
    return ""


def _partition_row(partition: PartitionResult, max_pages: int | None) -> dict[str, Any]:
    row = partition.summary()
    if partition.error:
        row["status"] = "failed"
    elif partition.rejected:
        row["status"] = f"incomplete: {partition.rejected} item(s) rejected"
    elif partition.complete:
        row["status"] = "complete"
    else:
        row["status"] = f"stopped after --max-pages {max_pages} (more pages exist)"
    return row


def _shown(component: dict[str, Any]) -> dict[str, Any]:
    """A component as the report shows it: each field and property value capped."""
    for name in ("fields", "properties"):
        component[name] = {key: capped(value, JSON_VALUE_CHARS) for key, value in component[name].items()}
    component["alias"] = capped(component["alias"], RECORD_CHARS)
    return component


def _component(component: DesiredComponent) -> dict[str, Any]:
    return {
        "kind": component.kind,
        "alias": component.alias,
        "on_component_not_found": component.on_not_found,
        "fields": component.fields,
        "properties": component.properties,
        "aliases": component.aliases,
        "tags": component.tags,
        "sources": component.sources,
    }


def run_extractors(
    integration: Integration,
    args: argparse.Namespace,
    secrets: SecretRecorder,
    redact: Redactor,
) -> tuple[list[dict[str, Any]], list[Any], list[str]]:
    """Each extractor, parents first: (report entries, XCom-shaped values, problems)."""
    max_pages = args.max_pages or None
    origins = dict(args.rewrite_origin)
    oauth = oauth_client(integration, secrets=secrets, origins=origins, redact=redact)
    fetcher = HttpFetcher(redact=redact, secrets=secrets, oauth=oauth)
    entries: list[dict[str, Any]] = []
    values: list[Any] = []
    problems: list[str] = []
    read: dict[str, list[PartitionResult]] = {}
    try:
        for extractor in integration.ordered():
            kind = extractor.external_kind
            entry: dict[str, Any] = {"external_kind": kind, "for_each": extractor.for_each}
            entries.append(entry)
            if extractor.http_polling is None:
                entry["skipped"] = "push extractor: its records arrive by push; there is nothing to read"
                continue
            entry["method"] = extractor.http_polling.method
            runner = ExtractorRunner(
                extractor,
                fetcher=fetcher,
                secrets=secrets,
                origins=origins,
                max_pages=max_pages,
                redact=fetcher.redact,
                keep_first_page=True,
            )
            sent = fetcher.requests_sent
            if extractor.for_each:
                parents = [r for p in read.get(extractor.for_each, []) for r in p.records]
                chosen = parents[: args.max_parents] if args.max_parents else parents
                entry["parents"] = {
                    "kind": extractor.for_each,
                    "available": len(parents),
                    "read": len(chosen),
                }
                if not parents:
                    entry["note"] = (
                        f"no {extractor.for_each} record was read, so there is no parent to run for"
                    )
                partitions = [runner.run(parent) for parent in chosen]
            else:
                partitions = [runner.run(None)]
            read[kind] = partitions
            values.append(to_chunks(kind, partitions))
            entry["requests"] = fetcher.requests_sent - sent
            first = next((p for p in partitions if p.pages), None)
            entry["first_page"] = (
                {"parent": first.parent, "page": capped(redact.value(first.first_page), JSON_PAGE_CHARS)}
                if first
                else None
            )
            entry["partitions"] = [_partition_row(p, max_pages) for p in partitions]
            records = [r for p in partitions for r in p.records]
            entry["totals"] = {
                "partitions": len(partitions),
                "pages": sum(p.pages for p in partitions),
                "items": sum(p.items for p in partitions),
                "excluded": sum(p.excluded for p in partitions),
                "kept": len(records),
                "rejected": sum(p.rejected for p in partitions),
                "duplicates": sum(p.duplicates for p in partitions)
                + len(records)
                - len({r["external_id"] for r in records}),
                "complete": bool(partitions) and all(p.complete for p in partitions),
                "failed": sum(1 for p in partitions if p.error),
            }
            entry["records"] = [
                {
                    **redact.value(r),
                    "external_id": capped(redact(r["external_id"]), RECORD_CHARS),
                    "data": capped(redact.value(r["data"]), JSON_VALUE_CHARS),
                }
                for r in records[: args.records]
            ]
            limited = "parents" in entry and entry["parents"]["read"] < entry["parents"]["available"]
            entry["partial"] = limited or any(not p.complete and not p.error for p in partitions)
            names = sorted(extractor.http_polling.secret_names)
            for p in partitions:
                where = f" (parent {p.parent})" if p.parent is not None else ""
                if p.error:
                    problems.append(f"extract {kind}{where}: {p.error}{_http_hint(p.error, names)}")
                problems += [f"extract {kind}{where}: {problem}" for problem in p.problems]
                if p.rejected > len(p.problems):
                    more = p.rejected - len(p.problems)
                    problems.append(f"extract {kind}{where}: ... and {more} more item(s) rejected")
    finally:
        fetcher.close()
        if oauth is not None:
            oauth.close()
    return entries, values, problems


def run_transforms(
    integration: Integration, values: list[Any], args: argparse.Namespace, redact: Redactor
) -> tuple[list[dict[str, Any]], dict[str, int], list[str]]:
    """Each transform's mapped components: (report entries, components per OpsLevel kind, problems)."""
    kinds = collect(values)
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, transform in enumerate(integration.transforms):
        kind = kinds.get(transform.external_kind)
        records = kind.records if kind else []
        components: list[DesiredComponent] = []
        issues: list[MappingIssue] = []
        skipped = 0
        for record in records:
            try:
                component = map_record(transform, record)
            except OpsLevelIntegrationError as exc:
                issues.append(issue_of(transform, index, record, exc))
                continue
            if component is None:
                skipped += 1
            else:
                components.append(component)
        entries.append(
            {
                "external_kind": transform.external_kind,
                "opslevel_kind": transform.opslevel_kind,
                "records": len(records),
                "mapped": len(components),
                "skipped": skipped,
                "failed": len(issues),
                "components": [_shown(redact.value(_component(c))) for c in components[: args.records]],
                "issues": [redact(str(issue)) for issue in issues],
            }
        )
        problems += [f"transform {redact(str(issue))}" for issue in issues]
    desired, _ = map_records(integration.transforms, kinds)
    per_kind: dict[str, int] = {}
    for opslevel_kind, _alias in desired:
        per_kind[opslevel_kind] = per_kind.get(opslevel_kind, 0) + 1
    return entries, per_kind, problems


def run_plan(
    integration: Integration,
    document: CatalogDocument | None,
    values: list[Any],
    args: argparse.Namespace,
    lookup: ConnectionLookup,
    redact: Redactor,
) -> tuple[dict[str, Any] | None, list[str]]:
    """The dry-run plan against OpsLevel: (report entry, problems). Reads only."""
    from airflow.exceptions import AirflowNotFoundException

    from airflow_provider_opslevel.catalog_setup.planning import declared_component_types

    options = SyncOptions(
        deletion=DeletionPolicy(integration_id=None),  # never deletes: the reads here are partial
        parent_kinds={e.external_kind: e.for_each for e in integration.extractors},
        declared=declared_component_types(document) if document is not None else None,
    )
    hook = opslevel_hook(args.conn_id, lookup)
    try:
        report = plan_sync(integration.transforms, values, hook.get_catalog(), options)
    except AirflowNotFoundException:
        return None, [
            f"OpsLevel connection {args.conn_id!r}: there is no Airflow connection {args.conn_id!r}; "
            f"{how_to_create_opslevel(args.conn_id)}"
        ]
    except OpsLevelIntegrationError as exc:
        return None, [f"OpsLevel (connection {args.conn_id!r}): {redact(str(exc))}"]
    client = hook.client
    entry = {
        "connection": args.conn_id,
        "url": client.base_url,
        "requests": client.requests_sent,
        "counts": report.plan.counts(),
        "report": redact.value(report.to_dict()),
        "text": redact(report.describe()),
        "deletions": DELETION_NOTE,
    }
    # Extraction and mapping problems are reported above already; keep the plan's own.
    problems = [
        redact(problem) for problem in report.problems() if not problem.startswith(("extract ", "transform "))
    ]
    return entry, problems


def cmd_test(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    integration, document, problems = load_documents(args.extract, args.transform, args.catalog)
    if problems or integration is None:
        print(f"{len(problems)} problem(s) in the configuration:", file=err)
        for problem in problems:
            print(f"  {problem}", file=err)
        if args.json:
            print(_dump({"ok": False, "problems": problems}, indent=2), file=out)
        return EXIT_FAILED

    report: dict[str, Any] = {
        "extract": args.extract,
        "transform": args.transform,
        "catalog": args.catalog,
        "options": {
            "max_pages": args.max_pages or None,
            "max_parents": args.max_parents or None,
            "records": args.records,
            "conn_id": None if args.no_opslevel else args.conn_id,
            "rewrite_origins": dict(args.rewrite_origin),
        },
        "extractors": [],
        "transforms": [],
        "components": {},
        "plan": None,
        "problems": [],
    }
    redact: Redactor | None = None
    try:
        with airflow_output(err, args.verbose):
            from airflow.sdk.log import mask_secret

            lookup = ConnectionLookup()
            secrets = SecretRecorder(secret_resolver(lookup), on_value=mask_secret)
            redact = Redactor(secrets, lookup)
            problems = check_secrets(integration, secrets, redact)
            if not problems:
                extractors, values, problems = run_extractors(integration, args, secrets, redact)
                transforms, per_kind, mapping_problems = run_transforms(integration, values, args, redact)
                report.update(extractors=extractors, transforms=transforms, components=per_kind)
                problems += mapping_problems
                if args.no_opslevel:
                    report["plan_skipped"] = "--no-opslevel"
                    report["property_keys"] = offline_property_keys(integration, document)
                else:
                    report["plan"], plan_problems = run_plan(
                        integration, document, values, args, lookup, redact
                    )
                    problems += plan_problems
            report["problems"] = [capped(problem, JSON_VALUE_CHARS) for problem in problems]
    except Exception as exc:  # report cleanly, never with a secret in it
        message = f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc() if args.verbose else ""
        if redact is not None:
            message, trace = redact(message), redact(trace)
        print(f"{PROG}: unexpected error: {message}\n{trace}".rstrip(), file=err)
        return EXIT_FAILED

    report["ok"] = not report["problems"]
    assert redact is not None
    if args.json:
        out.write(redact(_dump(report, indent=2)) + "\n")
    else:
        out.write(redact("\n".join(report_text(report, args))) + "\n")
    if report["problems"]:
        if args.json:  # stdout is for machines: say it on stderr too
            print(f"FAILED: {len(report['problems'])} problem(s):", file=err)
            for problem in report["problems"]:
                print(f"  - {redact(problem)}", file=err)
        else:
            print(f"{PROG}: FAILED: {len(report['problems'])} problem(s), listed in the report", file=err)
        return EXIT_FAILED
    return EXIT_OK


def check_secrets(integration: Integration, secrets: SecretRecorder, redact: Redactor) -> list[str]:
    """Resolve every secret the templates name before any request: one clear message per missing one."""
    from airflow_provider_opslevel.connections import MissingSecretError

    names = sorted(
        {name for e in integration.extractors if e.http_polling for name in e.http_polling.secret_names}
    )
    problems = []
    for name in names:
        try:
            secrets(name)
        except MissingSecretError as exc:
            problems.append(redact(str(exc)))
    return problems


def report_text(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    options = report["options"]
    pages = f"at most {options['max_pages']} page(s)" if options["max_pages"] else "every page"
    parents = f"at most {options['max_parents']} parent(s)" if options["max_parents"] else "every parent"
    lines = [
        f"Run Test: {report['extract']} + {report['transform']}"
        + (f" (catalog {report['catalog']})" if report["catalog"] else ""),
        f"Reading {pages} per partition and {parents} per for_each extractor; nothing is written.",
    ]
    for entry in report["extractors"]:
        lines += extractor_text(entry, args)
    for entry in report["transforms"]:
        lines += transform_text(entry)
    if report["components"]:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(report["components"].items()))
        lines.append(f"\nDistinct components after merging every transform: {counts}")
    plan = report["plan"]
    lines.append("")
    if report.get("plan_skipped"):
        lines.append("== plan against OpsLevel: skipped (--no-opslevel) ==")
        lines += property_keys_text(report.get("property_keys") or [])
    elif plan is not None:
        lines.append(
            f"== plan against OpsLevel ({plan['url']}, connection {plan['connection']}): dry run, "
            "nothing written =="
        )
        lines.append(plan["text"])
        lines.append("")
        partial = [e["external_kind"] for e in report["extractors"] if e.get("partial")]
        if partial:
            lines.append(
                f"The plan covers only the records read above ({', '.join(partial)} read partially: "
                "--max-pages / --max-parents)."
            )
        lines.append(DELETION_NOTE)
        lines.append(f"OpsLevel requests: {plan['requests']} (reads only)")
    elif report["extractors"]:
        lines.append("== plan against OpsLevel: not available (see the problems below) ==")
    lines.append("")
    lines.append(
        "Result: OK" if not report["problems"] else f"Result: FAILED, {len(report['problems'])} problem(s):"
    )
    lines += [f"  - {problem}" for problem in report["problems"]]
    return lines


def extractor_text(entry: dict[str, Any], args: argparse.Namespace) -> list[str]:
    kind = entry["external_kind"]
    if "skipped" in entry:
        return ["", f"== extractor {kind}: skipped ({entry['skipped']}) =="]
    runs = "root"
    parents = entry.get("parents")
    if parents is not None:
        runs = f"for_each {parents['kind']}: {parents['read']} of {parents['available']} parent record(s)"
        if parents["read"] < parents["available"]:
            runs += f", --max-parents {args.max_parents}"
    lines = ["", f"== extractor {kind} ({entry['method']}, {runs}; {entry['requests']} request(s)) =="]
    first = entry["first_page"]
    if entry.get("note"):
        lines.append(f"Nothing read: {entry['note']}")
    elif first is None:
        lines.append("First page: none was read")
    else:
        label = f" (parent {first['parent']})" if first["parent"] is not None else ""
        text, note = truncate_lines(_dump(first["page"], indent=2))
        lines.append(f"First raw page{label}:")
        lines += ["  " + line for line in text.splitlines()]
        if note:
            lines.append(f"  {note}")
    totals = entry["totals"]
    complete = "yes" if totals["complete"] else "no"
    lines.append(
        f"Records: {totals['items']} item(s), {totals['excluded']} excluded, "
        + (f"{totals['rejected']} rejected, " if totals["rejected"] else "")
        + f"{totals['kept']} kept; "
        + (
            f"{totals['duplicates']} duplicate external_id(s), the last read kept; "
            if totals["duplicates"]
            else ""
        )
        + f"{totals['pages']} page(s) from {totals['partitions']} partition(s); complete: {complete}"
    )
    if entry["partitions"]:
        rows = [
            [
                str(p["parent"]) if p["parent"] is not None else "-",
                str(p["pages"]),
                str(p["items"]),
                str(p["excluded"]),
                str(p["records"]),
                p["status"],
            ]
            for p in entry["partitions"]
        ]
        table_text = table(["parent", "pages", "items", "excluded", "kept", "status"], rows)
        lines += ["  " + line for line in table_text.splitlines()]
        for p in entry["partitions"]:
            if p["error"]:
                parent = f" (parent {p['parent']})" if p["parent"] is not None else ""
                lines.append(f"  error{parent}: {p['error']}")
    if entry["records"]:
        lines.append(f"First {len(entry['records'])} of {totals['kept']} record(s) (external_id, data):")
        for record in entry["records"]:
            parent = f" [parent {record['parent']}]" if record.get("parent") is not None else ""
            lines.append(f"  {record['external_id']}{parent}  {short(record.get('data'))}")  # capped
    return lines


def transform_text(entry: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"== transform {entry['external_kind']} -> {entry['opslevel_kind']} ==",
        f"{entry['records']} record(s): {entry['mapped']} mapped, {entry['skipped']} skipped, "
        f"{entry['failed']} failed",
    ]
    if entry["components"]:
        lines.append(f"First {len(entry['components'])} of {entry['mapped']} component(s):")
    for component in entry["components"]:
        lines.append(
            f"  {component['kind']} {component['alias']}  (from {', '.join(component['sources'])}; "
            f"if not found: {component['on_component_not_found']})"
        )
        for name, value in component["fields"].items():
            lines.append(f"      {name}: {short(value)}")
        for name, value in component["properties"].items():
            lines.append(f"      properties.{name}: {short(value)}")
        if component["aliases"]:
            lines.append(f"      aliases: {', '.join(component['aliases'])}")
        if component["tags"]:
            tags = ", ".join(f"{tag['key']}:{tag['value']}" for tag in component["tags"])
            lines.append(f"      tags: {tags}")
    for issue in entry["issues"][:20]:
        lines.append(f"  failed: {issue}")
    if len(entry["issues"]) > 20:
        lines.append(f"  ... and {len(entry['issues']) - 20} more")
    return lines


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
