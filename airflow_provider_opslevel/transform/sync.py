"""One transform run: extraction results → plan → (unless dry run) writes → report."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.extract.results import KindResult, collect
from airflow_provider_opslevel.opslevel.catalog import (
    Component,
    ComponentType,
    OpsLevelCatalog,
)
from airflow_provider_opslevel.transform.apply import apply_plan
from airflow_provider_opslevel.transform.deletion import (
    PARTITION_TAG,
    DeletionDecision,
    DeletionPolicy,
    PartitionProof,
    decide,
    expired,
    tag_value,
)
from airflow_provider_opslevel.transform.mapping import (
    DesiredComponent,
    MappingIssue,
    iter_mapped,
    map_records,
)
from airflow_provider_opslevel.transform.plan import (
    Change,
    ComponentPlan,
    Plan,
    plan_component,
)
from airflow_provider_opslevel.transform.report import (
    DETAIL_LIMIT,
    SyncReport,
    property_routes,
)

if TYPE_CHECKING:
    from airflow_provider_opslevel.config.models import Transform

log = logging.getLogger(__name__)


@dataclass
class State:
    """What OpsLevel holds for the kinds a sync manages."""

    types: dict[str, ComponentType | None]
    listed: dict[str, list[Component]]
    by_alias: dict[str, Component]


def read_state(catalog: OpsLevelCatalog, kinds: Iterable[str], aliases: Iterable[str]) -> State:
    """What OpsLevel holds, in as few requests as the API allows.

    One request per component type (with its property definitions), one per 500 components of
    each type, and batched look-ups only for aliases not found there (to see whether another
    type already holds them).
    """
    types = {kind: catalog.component_type(kind) for kind in sorted(set(kinds))}
    listed = {kind: catalog.components_of_type(t.id) if t else [] for kind, t in types.items()}
    by_alias: dict[str, Component] = {}
    for components in listed.values():
        for component in components:
            for alias in component.aliases:
                by_alias.setdefault(alias, component)
    unknown = sorted({alias for alias in aliases if alias not in by_alias})
    by_alias.update(catalog.lookup(unknown))
    return State(types, listed, by_alias)


@dataclass(frozen=True)
class SyncOptions:
    """How a sync plans beyond the records themselves.

    :param deletion: ownership marks and deletion limits (no integration id: no deletion).
    :param parent_kinds: each external_kind's ``for_each`` parent, to prove partitions complete.
    :param declared: component types a catalog document will create; a dry run plans against
        them for kinds OpsLevel does not have yet.
    """

    deletion: DeletionPolicy = field(default_factory=DeletionPolicy)
    parent_kinds: Mapping[str, str | None] = field(default_factory=dict)
    declared: Mapping[str, ComponentType] | None = None
    expiry: Mapping[str, int] | None = None
    """Push integrations: ``{opslevel_kind: expires_after_days}``. Set, it replaces "gone from the
    sync" (a push carries only some records) with "not pushed for that many days"."""
    today: date | None = None
    """The day push stamps and expiry use (default: today, UTC)."""


def _gone_test(kind: str, proof: PartitionProof, options: SyncOptions) -> Callable[[Component], bool] | None:
    """How this sync tells that a managed component of ``kind`` is gone (``None``: it cannot)."""
    if options.expiry is None:
        return lambda component: proof.proven(tag_value(component, PARTITION_TAG) or "")
    days = options.expiry.get(kind)
    if days is None:
        return None  # a push integration without expires_after_days never deletes
    today = options.today or datetime.now(timezone.utc).date()
    return lambda component: expired(component, days, today)


def _deletions(
    transforms: Sequence[Transform],
    wanted_by_kind: Mapping[str, Collection[str]],
    issues: Sequence[MappingIssue],
    extraction: Mapping[str, KindResult],
    state: State,
    options: SyncOptions,
) -> tuple[list[ComponentPlan], list[DeletionDecision]]:
    if options.deletion.integration_id is None:
        return [], []
    proof = PartitionProof(extraction, options.parent_kinds)
    failed_kinds = {issue.external_kind for issue in issues}
    items: list[ComponentPlan] = []
    decisions = []
    for kind in sorted({t.opslevel_kind for t in transforms}):
        is_gone = _gone_test(kind, proof, options)
        if is_gone is None:
            continue
        unmapped = sorted({t.external_kind for t in transforms if t.opslevel_kind == kind} & failed_kinds)
        blocked = None
        if unmapped:
            blocked = (
                f"records of {', '.join(unmapped)} could not be mapped, so which {kind} components are "
                "gone is not known; nothing of this kind was deleted"
            )
        wanted = wanted_by_kind.get(kind, set())
        decision = decide(kind, state.listed.get(kind, []), wanted, is_gone, options.deletion, blocked)
        decisions.append(decision)
        if decision.held is not None:
            continue
        for component in decision.candidates:
            alias = (component.managed_aliases or component.aliases or [component.id])[0]
            gone = DesiredComponent(
                kind, alias, "create", partition=tag_value(component, PARTITION_TAG) or ""
            )
            items.append(
                ComponentPlan("delete", gone, component, [Change("component", component.name, None)])
            )
    return items, decisions


def with_declared(existing: ComponentType | None, declared: ComponentType) -> ComponentType:
    """A type as it will be once the catalog document is ensured: the declared type when OpsLevel
    has none yet, else OpsLevel's with the declared definitions it lacks added."""
    if existing is None:
        return declared
    merged = dataclasses.replace(existing, definitions=dict(existing.definitions))
    for key, definition in declared.definitions.items():
        merged.definitions.setdefault(key, definition)
    return merged


def plan_sync(
    transforms: Sequence[Transform],
    extract_values: Iterable[Any],
    catalog: OpsLevelCatalog,
    options: SyncOptions | None = None,
    *,
    mapped: tuple[dict[tuple[str, str], DesiredComponent], list[MappingIssue]] | None = None,
    summarize: bool = False,
) -> SyncReport:
    """Map every record and compare it with OpsLevel: no writes.

    :param mapped: what :func:`~airflow_provider_opslevel.transform.mapping.map_records` gives
        for these transforms and values, when the caller has mapped them already (Run Test shows
        the components first); ``None`` maps them here (``mapped``'s dict is emptied either way).
    :param summarize: keep only the items the report shows (see :meth:`Plan.add`); the counts
        stay exact. For a dry run, which writes nothing.
    """
    options = options or SyncOptions()
    extraction = collect(extract_values)
    kinds = {t.opslevel_kind for t in transforms}
    if summarize and mapped is None:
        # A dry run streams: one pass learns every identifier (and how often it comes), the
        # second plans each component as it is decoded, holding only those still to be merged.
        seen, extra, issues = _identifiers(transforms, extraction)
        wanted: dict[str, Collection[str]] = {
            kind: (counts.keys() | extra[kind]) if kind in extra else counts.keys() for kind, counts in seen.items()
        }
        state = _state(catalog, kinds, (alias for aliases in seen.values() for alias in aliases), options)
        plan = _plan_streaming(transforms, extraction, seen, state, options)
    else:
        desired, issues = mapped if mapped is not None else map_records(transforms, extraction)
        state = _state(catalog, kinds, (item.alias for item in desired.values()), options)
        sets: dict[str, set[str]] = {}
        for item in desired.values():
            sets.setdefault(item.kind, set()).update([item.alias, *item.aliases])
        wanted = dict(sets)
        plan = Plan()
        plan_item = _planner(state, options)
        keep = DETAIL_LIMIT if summarize else None
        # Popped as planned: a component's desired state is held once, by its plan item or not at all.
        for key in list(desired):
            plan.add(plan_item(desired.pop(key)), keep)
    deletions, decisions = _deletions(transforms, wanted, issues, extraction, state, options)
    plan.components += deletions
    return SyncReport(
        plan=plan,
        dry_run=True,
        extraction=extraction,
        mapping_issues=issues,
        deletions=decisions,
        property_keys=property_routes(transforms, state.types),
    )


def _state(catalog: OpsLevelCatalog, kinds: set[str], aliases: Iterable[str], options: SyncOptions) -> State:
    state = read_state(catalog, kinds, aliases)
    for kind, declared in (options.declared or {}).items():
        if kind in state.types:
            state.types[kind] = with_declared(state.types[kind], declared)
    return state


def _planner(state: State, options: SyncOptions) -> Callable[[DesiredComponent], ComponentPlan]:
    integration_id = options.deletion.integration_id
    stamp = None
    if options.expiry is not None:
        stamp = (options.today or datetime.now(timezone.utc).date()).isoformat()

    def plan_item(item: DesiredComponent) -> ComponentPlan:
        return plan_component(
            item, state.by_alias.get(item.alias), state.types[item.kind], integration_id, stamp
        )

    return plan_item


def _identifiers(
    transforms: Sequence[Transform], extraction: dict[str, KindResult]
) -> tuple[dict[str, dict[str, int]], dict[str, set[str]], list[MappingIssue]]:
    """First pass: per opslevel_kind, each identifier and how many records give it; every alias
    wanted per kind (deletion spares them); the records that failed to map."""
    seen: dict[str, dict[str, int]] = {}
    wanted: dict[str, set[str]] = {}
    issues: list[MappingIssue] = []
    for components, failed in iter_mapped(transforms, extraction):
        issues += failed
        for item in components:
            counts = seen.setdefault(item.kind, {})
            counts[item.alias] = counts.get(item.alias, 0) + 1
            if item.aliases:
                wanted.setdefault(item.kind, set()).update(item.aliases)
    return seen, wanted, issues


def _plan_streaming(
    transforms: Sequence[Transform],
    extraction: dict[str, KindResult],
    seen: dict[str, dict[str, int]],
    state: State,
    options: SyncOptions,
) -> Plan:
    """Second pass: plan each component as it is decoded (a dry run keeps what its report
    shows); one given by several records waits until its last record is merged in."""
    plan = Plan()
    plan_item = _planner(state, options)
    waiting: dict[tuple[str, str], DesiredComponent] = {}
    for components, _ in iter_mapped(transforms, extraction):
        for item in components:
            counts = seen[item.kind]
            left = counts[item.alias] - 1
            earlier = waiting.pop(item.key, None)
            if earlier is not None:
                earlier.merge(item)
                item = earlier
            if left:
                counts[item.alias] = left
                waiting[item.key] = item
            else:
                plan.add(plan_item(item), DETAIL_LIMIT)
    return plan


def run_sync(
    transforms: Sequence[Transform],
    extract_values: Iterable[Any],
    catalog: OpsLevelCatalog,
    *,
    dry_run: bool,
    options: SyncOptions | None = None,
) -> SyncReport:
    """Plan, then (unless ``dry_run``) apply. Raising is left to the caller (see :meth:`SyncReport.problems`).

    Declared types (``options.declared``) are used by dry runs only: in a real run the setup
    task has created them by then.
    """
    options = options or SyncOptions()
    if not dry_run and options.declared:
        options = dataclasses.replace(options, declared=None)
    report = plan_sync(transforms, extract_values, catalog, options, summarize=dry_run)
    report.dry_run = dry_run
    if not dry_run:
        apply_plan(catalog, report.plan)
    return report
