"""Map extracted records to the components they describe (``transforms:``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError
from airflow_provider_opslevel.extract.results import KindResult
from airflow_provider_opslevel.opslevel.catalog import BUILTIN_FIELDS
from airflow_provider_opslevel.transform.deletion import partition_of


@dataclass
class DesiredComponent:
    """What the source data says one component should look like."""

    kind: str
    alias: str
    on_not_found: str
    fields: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """``external_kind:external_id`` of each record that produced it."""
    partition: str = ""
    """The extraction partition of its first record (``kind`` or ``kind/parent``)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.alias)

    def tags_pairs(self) -> list[tuple[str, str]]:
        return [(tag["key"], tag["value"]) for tag in self.tags]

    def merge(self, other: DesiredComponent) -> None:
        """Fold in what another transform (sharing kind and identifier) says about this component."""
        self.fields.update(other.fields)
        self.properties.update(other.properties)
        self.aliases += [alias for alias in other.aliases if alias not in self.aliases]
        self.tags += [tag for tag in other.tags if tag not in self.tags]
        self.sources += other.sources
        if other.on_not_found == "create":
            self.on_not_found = "create"


@dataclass
class MappingIssue:
    """A record that could not be mapped; it is reported, never silently dropped."""

    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.message}"


class MappingError(OpsLevelIntegrationError):
    pass


def as_text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise MappingError(f"{what} must be a string or a number, got {json.dumps(value)[:80]}")


def jq_value(expression: Any, data: Any) -> Any:
    """A property's value: its single output, a list of several outputs, or None for none."""
    outputs = expression.all(data)
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else outputs


def tags_of(expression: Any, data: Any) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    for output in expression.all(data):
        for tag in output if isinstance(output, list) else [output]:
            if tag is None:
                continue
            if not isinstance(tag, dict) or set(tag) != {"key", "value"}:
                raise MappingError(f"tags must be {{key, value}} objects, got {json.dumps(tag)[:80]}")
            tags.append(
                {"key": as_text(tag["key"], "a tag key"), "value": as_text(tag["value"], "a tag value")}
            )
    return tags


def aliases_of(expressions: list[Any], data: Any) -> list[str]:
    aliases: list[str] = []
    for expression in expressions:
        for output in expression.all(data):
            for alias in output if isinstance(output, list) else [output]:
                if alias is not None and alias != "":
                    aliases.append(as_text(alias, "an alias"))
    return aliases


def map_record(transform: Any, record: dict[str, Any]) -> DesiredComponent | None:
    """The component one record describes, or ``None`` when the identifier is null (skipped)."""
    data = record["data"]
    identifier = transform.opslevel_identifier.first(data)
    if identifier is None or identifier == "":
        raise MappingError(
            f"opslevel_identifier {transform.opslevel_identifier.source!r} gave {json.dumps(identifier)}"
        )
    desired = DesiredComponent(
        kind=transform.opslevel_kind,
        alias=as_text(identifier, "opslevel_identifier"),
        on_not_found=transform.on_component_not_found,
        sources=[f"{transform.external_kind}:{record['external_id']}"],
        partition=partition_of(transform.external_kind, record.get("parent")),
    )
    defaults = transform.default_properties
    for name, expression in defaults.items():
        if name == "tags":
            desired.tags = tags_of(expression, data)
        else:
            desired.fields[name] = jq_value(expression, data)
    for name, expression in transform.properties.items():
        value = jq_value(expression, data)
        if name in BUILTIN_FIELDS:
            desired.fields[name] = value
        else:
            desired.properties[name] = value
    for name, value in list(desired.fields.items()):
        if value is None:
            del desired.fields[name]  # a null built-in field leaves OpsLevel's value alone
        else:
            desired.fields[name] = as_text(value, name)
    desired.aliases = [a for a in aliases_of(transform.aliases, data) if a != desired.alias]
    return desired


def map_records(
    transforms: Sequence[Any], kinds: dict[str, KindResult]
) -> tuple[dict[tuple[str, str], DesiredComponent], list[MappingIssue]]:
    """Apply every transform to the records of its kind.

    :returns: desired components keyed by ``(opslevel_kind, alias)`` and the records that failed.
    """
    desired: dict[tuple[str, str], DesiredComponent] = {}
    issues: list[MappingIssue] = []
    for index, transform in enumerate(transforms):
        kind = kinds.get(transform.external_kind)
        for record in kind.records if kind else []:
            source = f"{transform.external_kind}:{record['external_id']}"
            try:
                component = map_record(transform, record)
            except OpsLevelIntegrationError as exc:
                where = getattr(transform, "where", f"transforms[{index}]")
                issues.append(MappingIssue(source=source, where=str(where), message=str(exc)))
                continue
            if component is None:
                continue
            if component.key in desired:
                desired[component.key].merge(component)
            else:
                desired[component.key] = component
    return desired, issues
