"""The Run Test report (see :mod:`~airflow_provider_opslevel.cli.run_test`) as text lines."""

from __future__ import annotations

import argparse
from typing import Any

from airflow_provider_opslevel.cli.documents import property_keys_text
from airflow_provider_opslevel.cli.output import dump, short, truncate_lines
from airflow_provider_opslevel.transform.report import table

DELETION_NOTE = (
    "Deletions: none planned. The test plans without an integration id "
    "(DeletionPolicy(integration_id=None)), so nothing is ever proposed for deletion: with "
    "--max-pages and --max-parents the reads are partial by design, and a component missing from "
    "a partial read proves nothing. The DAG's transform task decides deletions from complete reads."
)
# Mapping failures listed per transform (all of them are in the problems at the end).
ISSUES_SHOWN = 20


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
        text, note = truncate_lines(dump(first["page"], indent=2))
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
    for issue in entry["issues"][:ISSUES_SHOWN]:
        lines.append(f"  failed: {issue}")
    if len(entry["issues"]) > ISSUES_SHOWN:
        lines.append(f"  ... and {len(entry['issues']) - ISSUES_SHOWN} more")
    return lines
