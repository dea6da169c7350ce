"""Which managed components are gone from the source, and whether that is proven enough to delete.

A component is *managed* when this integration created it: it carries the tag
``opslevel-integration: <integration id>``, and ``opslevel-integration-partition`` says which
partition produced it (``sentry_issue/<project id>``, or the kind alone for a root extractor).
Nothing else is ever deleted. A managed component missing from this sync is deleted only when
its partition was read to the end in this run (or its parent is gone from a parent kind read to
the end), no record of its kind failed to map, and the kind's deletions stay under a threshold
unless a person approved more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from airflow_provider_opslevel.extract.results import KindResult
from airflow_provider_opslevel.opslevel.catalog import Component

OWNER_TAG = "opslevel-integration"
PARTITION_TAG = "opslevel-integration-partition"
# Push integrations: the UTC day a component was last pushed (at most one re-stamp per day).
LAST_SEEN_TAG = "opslevel-last-seen"

DEFAULT_MAX_DELETE_SHARE = 0.5


@dataclass(frozen=True)
class DeletionPolicy:
    """How much one sync may delete.

    :param integration_id: the tag value that marks this integration's components; ``None``
        disables ownership tags and deletion altogether.
    :param max_share: a kind's deletions above this share of its managed components are held.
    :param max_count: a kind's deletions above this number are held (``None``: no count limit).
    :param approved: a person approved deletions above the limits for this run.
    """

    integration_id: str | None = None
    max_share: float = DEFAULT_MAX_DELETE_SHARE
    max_count: int | None = None
    approved: bool = False


def partition_of(external_kind: str, parent: Any) -> str:
    return external_kind if parent is None else f"{external_kind}/{parent}"


def ownership_tags(integration_id: str, partition: str, last_seen: str | None = None) -> list[dict[str, str]]:
    """The tags marking a component this integration manages (shared dicts: never mutate them)."""
    return list(_ownership_tags(integration_id, partition, last_seen))


@functools.lru_cache(maxsize=4096)
def _ownership_tags(integration_id: str, partition: str, last_seen: str | None) -> tuple[dict[str, str], ...]:
    # Every component of a partition carries the same marks: one set of dicts, not one per component.
    tags = [{"key": OWNER_TAG, "value": integration_id}, {"key": PARTITION_TAG, "value": partition}]
    if last_seen is not None:
        tags.append({"key": LAST_SEEN_TAG, "value": last_seen})
    return tuple(tags)


def expired(component: Component, days: int, today: date) -> bool:
    """Not pushed for more than ``days`` days (a component with no readable stamp is kept)."""
    stamp = tag_value(component, LAST_SEEN_TAG)
    try:
        seen = date.fromisoformat(stamp or "")
    except ValueError:
        return False
    return (today - seen).days > days


def tag_value(component: Component, key: str) -> str | None:
    return next((tag["value"] for tag in component.tags if tag["key"] == key), None)


def is_managed(component: Component, integration_id: str | None) -> bool:
    return integration_id is not None and tag_value(component, OWNER_TAG) == integration_id


class PartitionProof:
    """Answers "was everything of this partition read in this run?".

    :param extraction: this run's extraction results per external_kind.
    :param parent_kinds: each external_kind's ``for_each`` parent (``None`` for root kinds).
    """

    def __init__(self, extraction: Mapping[str, KindResult], parent_kinds: Mapping[str, str | None]) -> None:
        self.parent_kinds = parent_kinds
        self.read: dict[str, bool] = {}
        self.kind_complete: dict[str, bool] = {}
        self.present: dict[str, set[str]] = {}
        for name, kind in extraction.items():
            for partition in kind.partitions:
                key = partition_of(name, partition.get("parent"))
                self.read[key] = self.read.get(key, True) and bool(partition.get("complete"))
            self.kind_complete[name] = bool(kind.partitions) and kind.complete
            if name in set(parent_kinds.values()):  # only a parent kind's ids prove a parent gone
                self.present[name] = set(kind.external_ids)

    def proven(self, partition: str) -> bool:
        if partition in self.read:
            return self.read[partition]
        kind, _, parent = partition.partition("/")
        parent_kind = self.parent_kinds.get(kind)
        if not parent or parent_kind is None:
            return False
        # Not read this run: proven gone only if its parent vanished from a parent kind read in full.
        return self.kind_complete.get(parent_kind, False) and parent not in self.present.get(
            parent_kind, set()
        )


@dataclass
class DeletionDecision:
    kind: str
    managed: int
    candidates: list[Component]
    held: str | None = None
    """Why nothing of this kind is deleted (``None``: the candidates are deleted)."""


def decide(
    kind: str,
    listed: Iterable[Component],
    wanted_aliases: Collection[str],
    is_gone: Callable[[Component], bool],
    policy: DeletionPolicy,
    blocked: str | None = None,
) -> DeletionDecision:
    """The managed components of one OpsLevel kind that this sync proves gone, and the verdict.

    :param is_gone: for a managed component this sync did not produce: may it go? (its partition
        was read in full, or, for push integrations, it expired).
    """
    managed = [component for component in listed if is_managed(component, policy.integration_id)]
    gone = [
        component
        for component in managed
        if not any(alias in wanted_aliases for alias in component.aliases) and is_gone(component)
    ]
    decision = DeletionDecision(kind, len(managed), gone)
    if not gone:
        return decision
    if blocked:
        decision.held = blocked
        return decision
    share = len(gone) / len(managed)
    over_share = share > policy.max_share
    over_count = policy.max_count is not None and len(gone) > policy.max_count
    if (over_share or over_count) and not policy.approved:
        limit = (
            f"{policy.max_share:.0%} of managed components"
            if over_share
            else f"{policy.max_count} components"
        )
        decision.held = (
            f"this sync would delete {len(gone)} of {len(managed)} managed {kind} components "
            f"({share:.0%}), over the limit of {limit}; nothing of this kind was deleted. If the "
            "source really lost them, trigger the DAG with the Param allow_mass_deletion=true"
        )
    return decision
