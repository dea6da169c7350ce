"""Map extracted records to the components they describe (``transforms:``).

A ``properties:`` key is kept as written: whether it is a custom property or a built-in field
depends on the component type's property definitions, which the plan knows (see
:func:`~airflow_provider_opslevel.transform.plan.route`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.errors import ExpressionError, Location, OpsLevelIntegrationError
from airflow_provider_opslevel.extract.results import KindResult, unpack
from airflow_provider_opslevel.transform.deletion import partition_of
from airflow_provider_opslevel.transform.errors import MappingError

if TYPE_CHECKING:
    from airflow_provider_opslevel.config.models import Transform
    from airflow_provider_opslevel.expressions import JqExpression

# Longer aliases are refused: an identifier that long is a mapping mistake (the whole record,
# a body of text), and it would be sent, stored and logged on every sync.
MAX_ALIAS_CHARS = 255
# A problem quotes at most this much of a value or of jq's message.
QUOTE_CHARS = 80
MESSAGE_CHARS = 1000
# Property values this short are likely repeated (a status, a slug) and are shared when decoded.
_INTERN_CHARS = 32
_NONE: Any = ()


@dataclass(slots=True)
class DesiredComponent:
    """What the source data says one component should look like.

    :ivar fields: built-in fields from ``default_properties`` (text; null ones left out).
    :ivar properties: every ``properties:`` key with its value, not yet routed to a custom
        property or a built-in field.
    """

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
    disagreements: list[str] = field(default_factory=list)
    """Keys on which the records merged into this component gave different values."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.alias)

    def to_row(self) -> list[Any]:
        """A compact JSON form (a list, no key names) for XCom: the extract task maps its records
        and sends these instead of the records (see :func:`from_row`)."""
        return [
            self.kind,
            self.alias,
            self.on_not_found,
            self.fields,
            self.properties,
            self.aliases,
            self.tags,
            self.sources,
            self.partition,
            self.disagreements,
        ]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> DesiredComponent:
        """The component :meth:`to_row` wrote."""
        kind, alias, on_not_found, fields, properties, aliases, tags, sources, partition, disagreements = row
        # A decoder makes a new string for every repeated one (kind, partition, "ongoing"...):
        # at a million components the copies alone are hundreds of MB.
        for values in (fields, properties):
            for key, value in values.items():
                if type(value) is str and len(value) <= _INTERN_CHARS:
                    values[key] = sys.intern(value)
        # Empty lists become the one empty tuple (merge() replaces rather than extends them).
        return cls(
            sys.intern(kind),
            alias,
            sys.intern(on_not_found),
            fields,
            properties,
            aliases or _NONE,
            tags or _NONE,
            sources,
            sys.intern(partition),
            disagreements or _NONE,
        )

    def tags_pairs(self) -> list[tuple[str, str]]:
        return [(tag["key"], tag["value"]) for tag in self.tags]

    def merge(self, other: DesiredComponent) -> None:
        """Fold in what another record (sharing kind and identifier) says about this component.

        The later record wins a key both give; a different value is remembered, since one of
        the two values is then not written.
        """
        for label, mine, theirs in (
            ("", self.fields, other.fields),
            ("properties.", self.properties, other.properties),
        ):
            for name, value in theirs.items():
                if name in mine and mine[name] != value:
                    note = (
                        f"{label}{name}: {quote(mine[name])} ({', '.join(self.sources)}) and "
                        f"{quote(value)} ({', '.join(other.sources)}); the last one is used"
                    )
                    self.disagreements = [*self.disagreements, note]
                mine[name] = value
        self.aliases = [*self.aliases, *(alias for alias in other.aliases if alias not in self.aliases)]
        self.tags = [*self.tags, *(tag for tag in other.tags if tag not in self.tags)]
        self.sources = [*self.sources, *other.sources]
        if other.on_not_found == "create":
            self.on_not_found = "create"


@dataclass
class MappingIssue:
    """A record that could not be mapped; it is reported, never silently dropped.

    :ivar where: the transform key that failed (``transform.yaml:9: transforms[0] (issue) properties.url``).
    """

    source: str
    where: str
    message: str
    opslevel_kind: str = ""

    @property
    def external_kind(self) -> str:
        return self.source.split(":", 1)[0]

    def to_row(self) -> list[str]:
        return [self.source, self.where, self.message, self.opslevel_kind]

    @classmethod
    def from_row(cls, row: Sequence[str]) -> MappingIssue:
        return cls(*row)

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.message}"


def quote(value: Any) -> str:
    """A value as JSON, cut to :data:`QUOTE_CHARS` (problems must stay readable)."""
    text = json.dumps(value, default=str)
    return text if len(text) <= QUOTE_CHARS else f"{text[: QUOTE_CHARS - 3]}... ({len(text)} characters)"


def as_text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise MappingError(f"{what} must be a string or a number, got {quote(value)}")


def as_alias(value: Any, what: str) -> str:
    """An alias as OpsLevel stores it (surrounding blanks trimmed), or why it cannot be one."""
    alias = as_text(value, what).strip()
    if not alias:
        raise MappingError(f"{what} gave a blank alias {quote(value)}")
    if len(alias) > MAX_ALIAS_CHARS:
        raise MappingError(
            f"{what} gave an alias of {len(alias)} characters (at most {MAX_ALIAS_CHARS}): {quote(alias)}"
        )
    return alias


def jq_value(expression: JqExpression, data: Any) -> Any:
    """A property's value: its single output, a list of several outputs, or None for none."""
    outputs = expression.all(data)
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else outputs


def tags_of(expression: JqExpression, data: Any) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    for output in expression.all(data):
        for tag in output if isinstance(output, list) else [output]:
            if tag is None:
                continue
            if not isinstance(tag, dict) or set(tag) != {"key", "value"}:
                raise MappingError(f"tags must be {{key, value}} objects, got {quote(tag)}")
            tags.append(
                {"key": as_text(tag["key"], "a tag key"), "value": as_text(tag["value"], "a tag value")}
            )
    return tags


def aliases_of(expression: JqExpression, data: Any) -> list[str]:
    aliases: list[str] = []
    for output in expression.all(data):
        for alias in output if isinstance(output, list) else [output]:
            if alias is not None and alias != "":
                aliases.append(as_alias(alias, "an alias"))
    return aliases


@contextmanager
def _at(expression: JqExpression) -> Iterator[None]:
    """Failures inside name the transform key of ``expression`` (its index, external_kind and line)."""
    try:
        yield
    except (ExpressionError, MappingError) as exc:
        where: Location | None = getattr(expression, "where", None)
        if exc.where is not None or where is None:
            raise
        raise type(exc)(exc.detail, where) from exc


def identifier_of(transform: Transform, data: Any) -> str:
    """The one alias ``opslevel_identifier`` gives: no value, several or a blank one is an error."""
    expression = transform.opslevel_identifier
    with _at(expression):
        outputs = expression.all(data)
        if len(outputs) != 1:
            shown = ", ".join(quote(output) for output in outputs[:3])
            raise MappingError(
                f"opslevel_identifier {expression.source!r} gave {len(outputs)} values"
                + (f" ({shown}{', ...' if len(outputs) > 3 else ''})" if outputs else "")
                + "; it must give exactly one"
            )
        if outputs[0] is None or outputs[0] == "":
            raise MappingError(f"opslevel_identifier {expression.source!r} gave {json.dumps(outputs[0])}")
        return as_alias(outputs[0], "opslevel_identifier")


def map_record(transform: Transform, record: dict[str, Any]) -> DesiredComponent:
    """The component one record describes.

    :raises ExpressionError: a jq expression failed (located at its key).
    :raises MappingError: a value cannot be used (located at its key).
    """
    data = record["data"]
    desired = DesiredComponent(
        kind=transform.opslevel_kind,
        alias=identifier_of(transform, data),
        on_not_found=transform.on_component_not_found,
        sources=[f"{transform.external_kind}:{record['external_id']}"],
        partition=partition_of(transform.external_kind, record.get("parent")),
    )
    for name, expression in transform.default_properties.items():
        with _at(expression):
            if name == "tags":
                desired.tags = tags_of(expression, data)
                continue
            value = jq_value(expression, data)
            if value is not None:  # a null built-in field leaves OpsLevel's value alone
                desired.fields[name] = as_text(value, f"default_properties.{name}")
    for name, expression in transform.properties.items():
        with _at(expression):
            desired.properties[name] = jq_value(expression, data)
    for expression in transform.aliases:
        with _at(expression):
            found = aliases_of(expression, data)
        desired.aliases += [a for a in found if a != desired.alias and a not in desired.aliases]
    return desired


def map_records(
    transforms: Sequence[Transform], kinds: dict[str, KindResult]
) -> tuple[dict[tuple[str, str], DesiredComponent], list[MappingIssue]]:
    """Apply every transform to the records of its kind.

    :returns: desired components keyed by ``(opslevel_kind, alias)`` and the records that failed.
    """
    desired: dict[tuple[str, str], DesiredComponent] = {}
    issues: list[MappingIssue] = []
    for components, failed in iter_mapped(transforms, kinds):
        merge_components(desired, components)
        issues += failed
    return desired, issues


def iter_mapped(
    transforms: Sequence[Transform], kinds: dict[str, KindResult]
) -> Iterator[tuple[list[DesiredComponent], list[MappingIssue]]]:
    """Every transform's components (not merged) and failed records, a part at a time: one
    partition's rows where the extract task mapped them (see :func:`map_partition`), else all of
    a kind's records mapped here. In transform order, then extraction order."""
    for index, transform in enumerate(transforms):
        kind = kinds.get(transform.external_kind)
        if kind is None:
            continue
        if not kind.mapped:
            yield map_transform(transform, index, kind.records)
            continue
        for packed in kind.mapped:
            part = unpack(packed).get(mapping_key(transform))
            if part is not None:
                yield _from_rows(part["components"]), [MappingIssue.from_row(row) for row in part["issues"]]


def _from_rows(rows: list[list[Any]]) -> list[DesiredComponent]:
    # Pops as it goes, so the rows and the components are never both held whole.
    rows.reverse()
    components = []
    while rows:
        components.append(DesiredComponent.from_row(rows.pop()))
    return components


def mapping_key(transform: Transform) -> str:
    """Which transform mapped rows belong to: its position in the document's ``transforms:``
    (the same in every task, whichever subset of the transforms a task looks at)."""
    return str(transform.where.index)


def map_partition(transforms: Sequence[Transform], external_kind: str, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the extract task sends instead of ``records``: for each transform of ``external_kind``
    (by its index in ``transforms:``), the rows of the components and of the records that failed.

    Mapping here, one partition at a time, means no task ever holds every raw record: the
    transform task receives compact components (see :meth:`DesiredComponent.to_row`).
    """
    mapped: dict[str, Any] = {}
    for index, transform in enumerate(transforms):
        if transform.external_kind != external_kind:
            continue
        components, failed = map_transform(transform, index, records)
        mapped[mapping_key(transform)] = {
            "components": [component.to_row() for component in components],
            "issues": [issue.to_row() for issue in failed],
        }
    return mapped


def map_transform(
    transform: Transform, index: int, records: Sequence[dict[str, Any]]
) -> tuple[list[DesiredComponent], list[MappingIssue]]:
    """Each record's component, in the records' order and not merged, and the records that failed.

    :param index: the transform's position in ``transforms:`` (issues name it).
    """
    components: list[DesiredComponent] = []
    issues: list[MappingIssue] = []
    for record in records:
        try:
            components.append(map_record(transform, record))
        except OpsLevelIntegrationError as exc:
            issues.append(issue_of(transform, index, record, exc))
    return components, issues


def merge_components(
    desired: dict[tuple[str, str], DesiredComponent], components: Sequence[DesiredComponent]
) -> None:
    """Add ``components`` to ``desired``: one whose ``(kind, alias)`` is there already is folded
    into that one (:meth:`DesiredComponent.merge`, which changes it)."""
    for component in components:
        found = desired.get(component.key)
        if found is None:
            desired[component.key] = component
        else:
            found.merge(component)


def issue_of(transform: Transform, index: int, record: dict[str, Any], exc: Exception) -> MappingIssue:
    """The report line for a record ``transform`` (at ``index``) could not map."""
    where = getattr(exc, "where", None) or getattr(transform, "where", None)
    message = getattr(exc, "detail", None) or str(exc)
    if len(message) > MESSAGE_CHARS:
        message = f"{message[: MESSAGE_CHARS - 3]}... ({len(message)} characters)"
    return MappingIssue(
        source=f"{transform.external_kind}:{record['external_id']}",
        where=str(where or f"transforms[{index}] ({transform.external_kind})"),
        message=message,
        opslevel_kind=transform.opslevel_kind,
    )
