"""``opslevel-integration test``: OpsLevel's *Run Test* from a shell.

Reads a few pages through an :class:`~airflow_provider_opslevel.extract.session.ExtractionSession`
(as the extract task does), maps every record once, shows the first components and plans them
against OpsLevel without writing. Every value that leaves (text, JSON, errors) goes through one
:class:`~airflow_provider_opslevel.redaction.Redactor` holding the template secrets, the
connection passwords and the OAuth tokens.
"""

from __future__ import annotations

import argparse
import traceback
from collections.abc import Callable, Sequence
from typing import IO, Any

from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.cli.connections import (
    ConnectionLookup,
    how_to_create_opslevel,
    opslevel_hook,
    secret_resolver,
)
from airflow_provider_opslevel.cli.documents import load_documents, offline_property_keys
from airflow_provider_opslevel.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    JSON_PAGE_CHARS,
    JSON_VALUE_CHARS,
    PROG,
    RECORD_CHARS,
    airflow_output,
    capped,
    dump,
)
from airflow_provider_opslevel.cli.report_text import DELETION_NOTE, report_text
from airflow_provider_opslevel.config import Integration
from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.results import collect, to_chunks
from airflow_provider_opslevel.extract.runner import PartitionResult
from airflow_provider_opslevel.extract.session import ExtractionSession
from airflow_provider_opslevel.redaction import Redactor
from airflow_provider_opslevel.secrets import SecretRecorder
from airflow_provider_opslevel.transform.deletion import DeletionPolicy
from airflow_provider_opslevel.transform.mapping import (
    DesiredComponent,
    MappingIssue,
    map_transform,
    merge_components,
)
from airflow_provider_opslevel.transform.sync import SyncOptions, plan_sync

Mapped = tuple[dict[tuple[str, str], DesiredComponent], list[MappingIssue]]


def cmd_test(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Read, map and plan; print the report on ``out`` (text or ``--json``). Exit 1 on any problem."""
    integration, document, problems = load_documents(args.extract, args.transform, args.catalog)
    if problems or integration is None:
        print(f"{len(problems)} problem(s) in the configuration:", file=err)
        for problem in problems:
            print(f"  {problem}", file=err)
        if args.json:
            print(dump({"ok": False, "problems": problems}, indent=2), file=out)
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
    redact = Redactor()
    try:
        with airflow_output(err, args.verbose):
            from airflow.sdk.log import mask_secret

            def hide(value: str) -> None:  # in Airflow's log and in this report
                mask_secret(value)
                redact.add(value)

            lookup = ConnectionLookup(redact)
            secrets = SecretRecorder(secret_resolver(lookup), on_value=hide)
            problems = check_secrets(integration, secrets, redact)
            if not problems:
                extractors, values, problems = run_extractors(integration, args, secrets, redact, hide)
                transforms, per_kind, mapped, mapping_problems = run_transforms(
                    integration, values, args, redact
                )
                report.update(extractors=extractors, transforms=transforms, components=per_kind)
                problems += mapping_problems
                if args.no_opslevel:
                    report["plan_skipped"] = "--no-opslevel"
                    report["property_keys"] = offline_property_keys(integration, document)
                else:
                    report["plan"], plan_problems = run_plan(
                        integration, document, values, mapped, args, lookup, redact
                    )
                    problems += plan_problems
            report["problems"] = [capped(problem, JSON_VALUE_CHARS) for problem in problems]
    except Exception as exc:  # report cleanly, never with a secret in it
        message = f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc() if args.verbose else ""
        print(f"{PROG}: unexpected error: {redact(message)}\n{redact(trace)}".rstrip(), file=err)
        return EXIT_FAILED

    report["ok"] = not report["problems"]
    if args.json:
        out.write(redact(dump(report, indent=2)) + "\n")
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
    from airflow_provider_opslevel.errors import MissingSecretError

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


# -- extract ---------------------------------------------------------------------------------------


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


def run_extractors(
    integration: Integration,
    args: argparse.Namespace,
    secrets: SecretRecorder,
    redact: Redactor,
    on_token: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], list[Any], list[str]]:
    """Each extractor, parents first: (report entries, XCom-shaped values, problems).

    :param on_token: called with each OAuth token.
    """
    max_pages = args.max_pages or None
    entries: list[dict[str, Any]] = []
    values: list[Any] = []
    problems: list[str] = []
    read: dict[str, list[PartitionResult]] = {}
    session = ExtractionSession(
        integration,
        secrets,
        origins=dict(args.rewrite_origin),
        redact=redact,
        on_token=on_token,
        max_pages=max_pages,
        keep_first_page=True,
    )
    with session:
        for extractor in integration.ordered():
            kind = extractor.external_kind
            entry: dict[str, Any] = {"external_kind": kind, "for_each": extractor.for_each}
            entries.append(entry)
            if extractor.http_polling is None:
                entry["skipped"] = "push extractor: its records arrive by push; there is nothing to read"
                continue
            entry["method"] = extractor.http_polling.method
            sent = session.requests_sent
            if extractor.for_each:
                parents = [r for p in read.get(extractor.for_each, []) for r in p.records]
                chosen: list[dict[str, Any] | None] = list(
                    parents[: args.max_parents] if args.max_parents else parents
                )
                entry["parents"] = {
                    "kind": extractor.for_each,
                    "available": len(parents),
                    "read": len(chosen),
                }
                if not parents:
                    entry["note"] = (
                        f"no {extractor.for_each} record was read, so there is no parent to run for"
                    )
            else:
                chosen = [None]
            # One partition at a time: a preview reads little, and its requests stay in order.
            partitions = session.run(kind, chosen, concurrency=1)
            read[kind] = partitions
            values.append(to_chunks(kind, partitions))
            entry["requests"] = session.requests_sent - sent
            first = next((p for p in partitions if p.pages), None)
            entry["first_page"] = (
                {
                    "parent": first.parent,
                    "page": capped(redact.redact_data(first.first_page), JSON_PAGE_CHARS),
                }
                if first
                else None
            )
            entry["partitions"] = [_partition_row(p, max_pages) for p in partitions]
            entry["totals"] = _totals(partitions)
            records = [r for p in partitions for r in p.records]
            entry["records"] = [
                {
                    **redact.redact_data(r),
                    "external_id": capped(redact(r["external_id"]), RECORD_CHARS),
                    "data": capped(redact.redact_data(r["data"]), JSON_VALUE_CHARS),
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
    return entries, values, problems


def _totals(partitions: list[PartitionResult]) -> dict[str, Any]:
    records = [r for p in partitions for r in p.records]
    return {
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


# -- transform and plan ----------------------------------------------------------------------------


def _shown(component: DesiredComponent, redact: Redactor) -> dict[str, Any]:
    """A component as the report shows it: a redacted copy, each field and property value capped."""
    shown: dict[str, Any] = redact.redact_data(
        {
            "kind": component.kind,
            "alias": component.alias,
            "on_component_not_found": component.on_not_found,
            "fields": component.fields,
            "properties": component.properties,
            "aliases": component.aliases,
            "tags": component.tags,
            "sources": component.sources,
        }
    )
    for name in ("fields", "properties"):
        shown[name] = {key: capped(value, JSON_VALUE_CHARS) for key, value in shown[name].items()}
    shown["alias"] = capped(shown["alias"], RECORD_CHARS)
    return shown


def run_transforms(
    integration: Integration, values: list[Any], args: argparse.Namespace, redact: Redactor
) -> tuple[list[dict[str, Any]], dict[str, int], Mapped, list[str]]:
    """Map each record once: (report entries, components per OpsLevel kind, the mapped components
    merged as the plan takes them, problems)."""
    kinds = collect(values)
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    desired: dict[tuple[str, str], DesiredComponent] = {}
    issues: list[MappingIssue] = []
    for index, transform in enumerate(integration.transforms):
        kind = kinds.get(transform.external_kind)
        records = kind.records if kind else []
        components, failed = map_transform(transform, index, records)
        entries.append(
            {
                "external_kind": transform.external_kind,
                "opslevel_kind": transform.opslevel_kind,
                "records": len(records),
                "mapped": len(components),
                "skipped": 0,  # a record maps or fails; kept for the report's shape
                "failed": len(failed),
                # Copied before merging, which changes the first component of each alias.
                "components": [_shown(c, redact) for c in components[: args.records]],
                "issues": [redact(str(issue)) for issue in failed],
            }
        )
        problems += [f"transform {redact(str(issue))}" for issue in failed]
        merge_components(desired, components)
        issues += failed
    per_kind: dict[str, int] = {}
    for opslevel_kind, _alias in desired:
        per_kind[opslevel_kind] = per_kind.get(opslevel_kind, 0) + 1
    return entries, per_kind, (desired, issues), problems


def run_plan(
    integration: Integration,
    document: CatalogDocument | None,
    values: list[Any],
    mapped: Mapped,
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
        report = plan_sync(integration.transforms, values, hook.get_catalog(), options, mapped=mapped)
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
        "report": redact.redact_data(report.to_dict()),
        "text": redact(report.describe()),
        "deletions": DELETION_NOTE,
    }
    # Extraction and mapping problems are reported above already; keep the plan's own.
    problems = [
        redact(problem) for problem in report.problems() if not problem.startswith(("extract ", "transform "))
    ]
    return entry, problems
