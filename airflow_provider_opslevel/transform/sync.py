"""One transform run: extraction results → plan → (unless dry run) writes → report."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.results import KindResult, collect
from airflow_provider_opslevel.opslevel.catalog import Component, ComponentType, OpsLevelCatalog
from airflow_provider_opslevel.transform.apply import apply_plan
from airflow_provider_opslevel.transform.mapping import DesiredComponent, MappingIssue, map_records
from airflow_provider_opslevel.transform.plan import ACTIONS, Plan, plan_component

log = logging.getLogger(__name__)

# How many components per kind and action the report details (the counts cover all of them).
DETAIL_LIMIT = 20


class SyncFailed(OpsLevelIntegrationError):
    """The sync wrote what it could, but something was not read, mapped or written."""


@dataclass
class SyncReport:
    plan: Plan
    dry_run: bool
    extraction: dict[str, KindResult] = field(default_factory=dict)
    mapping_issues: list[MappingIssue] = field(default_factory=list)

    def extraction_failures(self) -> list[str]:
        failures = []
        for kind in self.extraction.values():
            for partition in kind.failed:
                parent = f" (parent {partition['parent']})" if partition.get("parent") is not None else ""
                failures.append(f"{kind.external_kind}{parent}: {partition['error']}")
        return failures

    def problems(self) -> list[str]:
        problems = [f"extract {failure}" for failure in self.extraction_failures()]
        problems += [f"transform {issue}" for issue in self.mapping_issues]
        for item in self.plan.components:
            label = f"{item.desired.kind} {item.desired.alias}"
            if item.action == "conflict" or (item.action == "error" and item.message):
                problems.append(f"{label}: {item.message}")
            problems += [f"{label}: {problem}" for problem in item.problems]
        return problems

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
                    "records": len(kind.records),
                    "partitions": len(kind.partitions),
                    "complete": kind.complete,
                }
                for name, kind in self.extraction.items()
            },
            "components": details,
            "suggested": [
                {"kind": item.desired.kind, "alias": item.desired.alias, "fields": item.desired.fields}
                for item in self.plan.of("suggest")
            ],
            "problems": self.problems(),
        }

    def table(self) -> str:
        """Counts per kind and action as a fixed-width table for the task log."""
        counts = self.plan.counts()
        header = ["opslevel_kind", *ACTIONS]
        rows = [[kind, *(str(counts[kind][action]) for action in ACTIONS)] for kind in sorted(counts)]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in [header, *rows]
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)

    def describe(self) -> str:
        """A readable plan: the table, then the field-level changes of the first components."""
        lines = [self.table()]
        for action in ("create", "update", "suggest", "conflict", "error"):
            items = self.plan.of(action)
            if not items:
                continue
            lines.append(f"\n{action} ({len(items)}):")
            for item in items[:DETAIL_LIMIT]:
                note = "; ".join(filter(None, [item.message, *item.problems]))
                lines.append(f"  {item.desired.kind} {item.desired.alias}" + (f": {note}" if note else ""))
                for change in item.changes:
                    old = "" if change.old is None else f"{json.dumps(change.old)} -> "
                    lines.append(f"      {change.field}: {old}{json.dumps(change.new)}")
            if len(items) > DETAIL_LIMIT:
                lines.append(f"  ... and {len(items) - DETAIL_LIMIT} more")
        return "\n".join(lines)


def read_state(
    catalog: OpsLevelCatalog, desired: Iterable[DesiredComponent]
) -> tuple[dict[str, ComponentType | None], dict[str, Component]]:
    """What OpsLevel holds for these components, in as few requests as the API allows.

    One request per component type (with its property definitions), one per 500 components of
    each type, and batched look-ups only for aliases not found there (to see whether another
    type already holds them).
    """
    desired = list(desired)
    types = {kind: catalog.component_type(kind) for kind in sorted({item.kind for item in desired})}
    index: dict[str, Component] = {}
    for component_type in types.values():
        if component_type is None:
            continue
        for component in catalog.components_of_type(component_type.id):
            for alias in component.aliases:
                index.setdefault(alias, component)
    unknown = sorted({item.alias for item in desired if item.alias not in index})
    for alias, found in catalog.lookup(unknown).items():
        if found is not None:
            index[alias] = found
    return types, index


def plan_sync(
    transforms: Sequence[Any],
    extract_values: Iterable[Any],
    catalog: OpsLevelCatalog,
    *,
    declared: Mapping[str, ComponentType] | None = None,
) -> SyncReport:
    """Map every record and compare it with OpsLevel: no writes.

    :param declared: component types a catalog document will create; the plan uses them for
        kinds OpsLevel does not have yet (a dry run before the first setup).
    """
    extraction = collect(extract_values)
    desired, issues = map_records(transforms, extraction)
    types, index = read_state(catalog, desired.values())
    for kind, component_type in (declared or {}).items():
        if kind in types and types[kind] is None:
            types[kind] = component_type
    plan = Plan([plan_component(item, index.get(item.alias), types[item.kind]) for item in desired.values()])
    return SyncReport(plan=plan, dry_run=True, extraction=extraction, mapping_issues=issues)


def run_sync(
    transforms: Sequence[Any],
    extract_values: Iterable[Any],
    catalog: OpsLevelCatalog,
    *,
    dry_run: bool,
    declared: Mapping[str, ComponentType] | None = None,
) -> SyncReport:
    """Plan, then (unless ``dry_run``) apply. Raising is left to the caller (see :meth:`SyncReport.problems`).

    :param declared: see :func:`plan_sync`; used only by dry runs (a real run's setup task has
        created the types by then).
    """
    report = plan_sync(transforms, extract_values, catalog, declared=declared if dry_run else None)
    report.dry_run = dry_run
    if not dry_run:
        apply_plan(catalog, report.plan)
    return report
