"""The report of one transform run: counts, details, problems, warnings, for the log and XCom."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.extract.results import KindResult
from airflow_provider_opslevel.opslevel.catalog import BUILTIN_FIELDS, ComponentType
from airflow_provider_opslevel.transform.deletion import DeletionDecision
from airflow_provider_opslevel.transform.mapping import MappingIssue
from airflow_provider_opslevel.transform.plan import ACTIONS, CUSTOM, Plan, route

if TYPE_CHECKING:
    from airflow_provider_opslevel.config.models import Transform

__all__ = ["DETAIL_LIMIT", "SyncReport", "property_routes", "property_table", "table"]

# How many components per kind and action the report details (the counts cover all of them).
DETAIL_LIMIT = 20


def table(header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width text table (task logs have no markup)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


@dataclass
class SyncReport:
    plan: Plan
    dry_run: bool
    extraction: dict[str, KindResult] = field(default_factory=dict)
    mapping_issues: list[MappingIssue] = field(default_factory=list)
    deletions: list[DeletionDecision] = field(default_factory=list)
    property_keys: list[dict[str, str]] = field(default_factory=list)
    """Where each transform's ``properties:`` keys are written (see :func:`property_routes`)."""

    def unmapped(self) -> dict[str, int]:
        """Records that could not be mapped, per external_kind (each is also a problem)."""
        counts: dict[str, int] = {}
        for issue in self.mapping_issues:
            counts[issue.external_kind] = counts.get(issue.external_kind, 0) + 1
        return counts

    def extraction_failures(self) -> list[str]:
        failures = []
        for kind in self.extraction.values():
            for partition in kind.failed:
                parent = f" (parent {partition['parent']})" if partition.get("parent") is not None else ""
                failures.append(f"{kind.external_kind}{parent}: {partition['error']}")
            failures += kind.record_problems()
        return failures

    def problems(self) -> list[str]:
        problems = [f"extract {failure}" for failure in self.extraction_failures()]
        problems += [f"transform {issue}" for issue in self.mapping_issues]
        problems += [
            f"delete {decision.kind}: {decision.held}" for decision in self.deletions if decision.held
        ]
        for item in self.plan.components:
            label = f"{item.desired.kind} {item.desired.alias}"
            if item.action == "conflict" or (item.action == "error" and item.message):
                problems.append(f"{label}: {item.message}")
            problems += [f"{label}: {problem}" for problem in item.problems]
        return problems

    def warnings(self) -> list[str]:
        """What was counted but does not fail the run: records disagreeing on a merged component."""
        return [
            f"{item.desired.kind} {item.desired.alias}: {warning}"
            for item in self.plan.components
            for warning in item.warnings
        ]

    def to_dict(self) -> dict[str, Any]:
        """The XCom form: counts for everything, details for the first components of each action."""
        details: dict[str, list[dict[str, Any]]] = {}
        shown: dict[tuple[str, str], int] = {}
        for item in self.plan.components:
            key = (item.desired.kind, item.action)
            if item.action == "unchanged" or shown.get(key, 0) >= DETAIL_LIMIT:
                continue
            shown[key] = shown.get(key, 0) + 1
            details.setdefault(item.action, []).append(item.to_dict())
        return {
            "dry_run": self.dry_run,
            "counts": self.plan.counts(),
            "extracted": {
                name: {
                    "records": kind.count,
                    "partitions": len(kind.partitions),
                    "complete": kind.complete,
                    "duplicates": kind.duplicates,
                    "rejected": kind.rejected,
                }
                for name, kind in self.extraction.items()
            },
            "components": details,
            "unmapped": self.unmapped(),
            "skipped": [
                {"kind": item.desired.kind, "alias": item.desired.alias, "reason": item.message}
                for item in self.plan.of("skip")[:DETAIL_LIMIT]
            ],
            "suggested": [
                {"kind": item.desired.kind, "alias": item.desired.alias, "fields": item.fields}
                for item in self.plan.of("suggest")
            ],
            "property_keys": self.property_keys,
            "deletions": {
                decision.kind: {
                    "managed": decision.managed,
                    "gone": len(decision.candidates),
                    "deleted": 0 if decision.held else len(decision.candidates),
                    "held": decision.held,
                }
                for decision in self.deletions
            },
            "problems": self.problems(),
            "warnings": self.warnings(),
        }

    def table(self) -> str:
        """Counts per kind and action as a fixed-width table for the task log."""
        counts = self.plan.counts()
        return table(
            ["opslevel_kind", *ACTIONS],
            [[kind, *(str(counts[kind][action]) for action in ACTIONS)] for kind in sorted(counts)],
        )

    def describe(self) -> str:
        """A readable plan: the table, then the field-level changes of the first components."""
        lines = [self.table()]
        unmapped = self.unmapped()
        if unmapped:
            counts = ", ".join(f"{count} {kind}" for kind, count in sorted(unmapped.items()))
            lines.append(f"\nRecords that could not be mapped (listed as problems): {counts}")
        if self.property_keys:
            lines.append("\nproperties keys:")
            lines += ["  " + line for line in property_table(self.property_keys).splitlines()]
        for action in ("create", "update", "delete", "skip", "suggest", "conflict", "error"):
            items = self.plan.of(action)
            total = self.plan.total(action)
            if not total:
                continue
            lines.append(f"\n{action} ({total}):")
            for item in items[:DETAIL_LIMIT]:
                note = "; ".join(filter(None, [item.message, *item.problems]))
                lines.append(f"  {item.desired.kind} {item.desired.alias}" + (f": {note}" if note else ""))
                for change in item.changes:
                    old = "" if change.old is None else f"{json.dumps(change.old)} -> "
                    lines.append(f"      {change.field}: {old}{json.dumps(change.new)}")
            if total > DETAIL_LIMIT:
                lines.append(f"  ... and {total - DETAIL_LIMIT} more")
        suggested = self.plan.of("suggest")
        if suggested:
            lines.append(
                f"\nSuggested components ({len(suggested)}; never created, review them in OpsLevel):"
            )
            lines.append(
                table(
                    ["opslevel_kind", "alias", "name", "source"],
                    [
                        [
                            i.desired.kind,
                            i.desired.alias,
                            str(i.fields.get("name", "")),
                            i.desired.sources[0],
                        ]
                        for i in suggested
                    ],
                )
            )
        for decision in self.deletions:
            if decision.held:
                lines.append(f"\nDeletion held for {decision.kind}: {decision.held}")
        warnings = self.warnings()
        if warnings:
            lines.append(f"\nWarnings ({len(warnings)}; written, not failing the run):")
            lines += [f"  {warning}" for warning in warnings[:DETAIL_LIMIT]]
            if len(warnings) > DETAIL_LIMIT:
                lines.append(f"  ... and {len(warnings) - DETAIL_LIMIT} more")
        return "\n".join(lines)


def property_routes(
    transforms: Sequence[Transform], types: Mapping[str, ComponentType | None]
) -> list[dict[str, str]]:
    """Where each ``properties:`` key of each transform is written, and why.

    :param types: the component types known (read from OpsLevel, or declared in the catalog
        document); a kind missing or ``None`` is routed by name alone.
    """
    rows = []
    for index, transform in enumerate(transforms):
        kind = transform.opslevel_kind
        component_type = types.get(kind)
        for key in transform.properties:
            writes = route(key, component_type)
            if component_type is None:
                why = f"component type {kind!r} not known here" + (
                    f"; a property {key!r} defined on it would take the key" if writes != CUSTOM else ""
                )
            elif writes == CUSTOM and key in component_type.definitions:
                why = f"{kind!r} defines property {key!r}" + (
                    f", which wins over the built-in field {key!r}" if key in BUILTIN_FIELDS else ""
                )
            elif writes == CUSTOM:
                why = f"{kind!r} does not define property {key!r}: every value is reported, none written"
            else:
                why = f"{kind!r} defines no property {key!r}"
            rows.append(
                {
                    "transform": f"transforms[{index}] ({transform.external_kind})",
                    "opslevel_kind": kind,
                    "key": key,
                    "writes": writes,
                    "why": why,
                }
            )
    return rows


def property_table(rows: list[dict[str, str]]) -> str:
    """:func:`property_routes` as a fixed-width table."""
    return table(
        ["transform", "key", "writes", "why"],
        [[row["transform"], row["key"], row["writes"], row["why"]] for row in rows],
    )
