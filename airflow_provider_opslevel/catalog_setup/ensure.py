"""``ensure_catalog``: create or update a catalog document's objects in OpsLevel, never deleting.

Steps (every GraphQL document is in :mod:`.documents`):

1. **Read** every component type (``ComponentTypeList``, paged); the property definitions of
   each declared type that exists, and of undeclared types a rule reads a custom property of
   (``ComponentTypeProperties``, paged); the relationship definitions of each relationship's
   component type (``RelationshipDefinitionList``, paged); and, for a declared relationship not
   found there, whether its alias is held on another type (``RelationshipDefinitionGet``).
2. **Check** before writing anything: relationship ``component_type``, ``allowed_types`` and rule
   ``target_type`` name a declared type, an existing one, ``team`` or ``user``; custom rule
   properties of undeclared types exist; no name or alias collides with another object. Every
   problem is raised at once in :class:`CatalogSetupError`, each naming the YAML item.
3. **Plan** per object: ``create``, ``update`` (with field-level changes) or ``unchanged``.
   Compared: a type's ``name`` and (when given) ``description``; a definition's ``name``,
   ``schema``, ``locked``, ``display_status`` and (when given) ``description`` and
   ``allowed_in_config_files``; a relationship's ``name``, ``allowed_types``, and (when given)
   ``description``, ``min_items``, ``max_items`` and ``management_rules`` (compared as a set).
   Text read back is HTML-unescaped before comparing; a null ``lockedStatus`` counts as
   ``unlocked``, a null display status as ``visible``.
4. **Write** (unless ``dry_run``): a missing type is one ``ComponentTypeCreate`` carrying its
   definitions. On an existing type, missing definitions are added with one
   ``ComponentTypeUpdate`` whose ``properties`` lists *every* definition the type has — the
   undeclared ones re-sent as read — so nothing is lost whether OpsLevel merges or replaces that
   list; changed definitions otherwise go through ``PropertyDefinitionUpdate`` (by id), and a
   changed name/description through ``ComponentTypeUpdate`` without ``properties``. Then
   ``RelationshipDefinitionCreate`` / ``RelationshipDefinitionUpdate`` (the update re-sends the
   metadata fields the document does not manage, as read). Nothing is ever deleted; a second run
   sends no mutation.
"""

from __future__ import annotations

import html
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from airflow_provider_opslevel.catalog_setup import documents
from airflow_provider_opslevel.catalog_setup.models import (
    RELATIONSHIP_TARGET_BUILTINS,
    CatalogDocument,
    ComponentTypeSpec,
    PropertySpec,
    RelationshipDefinitionSpec,
)
from airflow_provider_opslevel.errors import Location, OpsLevelIntegrationError, did_you_mean
from airflow_provider_opslevel.opslevel.client import OpsLevelApiError, OpsLevelClient, format_errors

__all__ = ["CatalogSetupError", "Change", "EnsureItem", "EnsureReport", "ensure_catalog"]

Kind = Literal["component_type", "property_definition", "relationship_definition"]
Action = Literal["create", "update", "unchanged"]
Node = dict[str, Any]

_KIND_LABELS = {
    "component_type": "component type",
    "property_definition": "property definition",
    "relationship_definition": "relationship definition",
}
_DONE = {"create": "created", "update": "updated", "unchanged": "unchanged"}
_PLANNED = {"create": "would create", "update": "would update", "unchanged": "unchanged"}


# ------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Change:
    """One field that differs: ``before`` as OpsLevel holds it, ``after`` as the document wants it."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class EnsureItem:
    """What ensure did (or, in a dry run, would do) to one object.

    :ivar kind: ``component_type``, ``property_definition`` or ``relationship_definition``.
    :ivar alias: the object's alias.
    :ivar action: ``create``, ``update`` or ``unchanged``.
    :ivar component_type: the type a definition belongs to (``None`` for component types).
    :ivar id: OpsLevel id, when known (``None`` for objects a dry run would create).
    :ivar changes: for ``update``, the fields that differ.
    """

    kind: Kind
    alias: str
    action: Action
    component_type: str | None = None
    id: str | None = None
    changes: tuple[Change, ...] = ()

    @property
    def label(self) -> str:
        """``component type sentry_issue``, ``property definition sentry_issue.url``, ..."""
        if self.kind == "property_definition":
            return f"{_KIND_LABELS[self.kind]} {self.component_type}.{self.alias}"
        if self.kind == "relationship_definition":
            return f"{_KIND_LABELS[self.kind]} {self.alias} (on {self.component_type})"
        return f"{_KIND_LABELS[self.kind]} {self.alias}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "alias": self.alias,
            "component_type": self.component_type,
            "action": self.action,
            "id": self.id,
            "changes": [change.to_dict() for change in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsureItem:
        return cls(
            kind=data["kind"],
            alias=data["alias"],
            action=data["action"],
            component_type=data.get("component_type"),
            id=data.get("id"),
            changes=tuple(Change(c["field"], c["before"], c["after"]) for c in data.get("changes") or []),
        )


@dataclass(frozen=True)
class EnsureReport:
    """The outcome of :func:`ensure_catalog`: one :class:`EnsureItem` per declared object.

    :ivar items: component types (each followed by its declared definitions), then relationship
        definitions, in document order.
    :ivar dry_run: nothing was written; actions are what a real run would do.
    :ivar requests: GraphQL requests sent (reads and writes).
    :ivar mutations: mutations sent (0 in a dry run and on a run with nothing to change).
    """

    items: tuple[EnsureItem, ...]
    dry_run: bool = False
    requests: int = 0
    mutations: int = 0

    def _with(self, action: Action) -> tuple[EnsureItem, ...]:
        return tuple(item for item in self.items if item.action == action)

    @property
    def created(self) -> tuple[EnsureItem, ...]:
        """Items with action ``create``."""
        return self._with("create")

    @property
    def updated(self) -> tuple[EnsureItem, ...]:
        """Items with action ``update``."""
        return self._with("update")

    @property
    def unchanged(self) -> tuple[EnsureItem, ...]:
        """Items with action ``unchanged``."""
        return self._with("unchanged")

    @property
    def changed(self) -> bool:
        """Whether anything was (or, in a dry run, would be) created or updated."""
        return any(item.action != "unchanged" for item in self.items)

    def summary(self) -> dict[str, int]:
        """``{"create": n, "update": n, "unchanged": n}``."""
        return {action: len(self._with(action)) for action in ("create", "update", "unchanged")}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for XCom); :meth:`from_dict` reads it back."""
        return {
            "dry_run": self.dry_run,
            "summary": self.summary(),
            "requests": self.requests,
            "mutations": self.mutations,
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsureReport:
        return cls(
            items=tuple(EnsureItem.from_dict(item) for item in data.get("items") or []),
            dry_run=bool(data.get("dry_run")),
            requests=int(data.get("requests") or 0),
            mutations=int(data.get("mutations") or 0),
        )

    def to_text(self) -> str:
        """A readable multi-line summary for the task log."""
        verbs = _PLANNED if self.dry_run else _DONE
        counts = self.summary()
        head = "Catalog setup (dry run, nothing written)" if self.dry_run else "Catalog setup"
        lines = [
            f"{head}: {counts['create']} {verbs['create']}, {counts['update']} {verbs['update']}, "
            f"{counts['unchanged']} unchanged ({self.requests} requests, {self.mutations} mutations)"
        ]
        width = max((len(verbs[item.action]) for item in self.items), default=0)
        for item in self.items:
            lines.append(f"  {verbs[item.action]:<{width}}  {item.label}")
            for change in item.changes:
                lines.append(
                    f"  {'':<{width}}    {change.field}: {_show(change.before)} -> {_show(change.after)}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class CatalogSetupError(OpsLevelIntegrationError):
    """Ensuring the catalog failed: a check before writing, or a write OpsLevel refused.

    :param problems: one message per problem (each names the document item it is about).
    :param report: for a failed write, what was done before it (``None`` when nothing was written).
    """

    def __init__(self, problems: str | Iterable[str], report: EnsureReport | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.report = report
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.report))


# ------------------------------------------------------------------------------------ reading


class _PayloadError(OpsLevelIntegrationError):
    """A mutation answered with payload ``errors`` (or no payload)."""


# Creating twice is not harmless: a client that retries must not resend these after a timeout.
_NOT_IDEMPOTENT = frozenset({"ComponentTypeCreate", "RelationshipDefinitionCreate"})


def _accepts_idempotent(client: OpsLevelClient) -> bool:
    try:
        return "idempotent" in inspect.signature(client.execute).parameters
    except (TypeError, ValueError):
        return False


class _Reader:
    """Sends the module's documents, counting requests and mutations; pages connections."""

    def __init__(self, client: OpsLevelClient) -> None:
        self.client = client
        self.requests = 0
        self.mutations = 0
        self._idempotent_flag = _accepts_idempotent(client)

    def execute(self, operation: str, variables: dict[str, Any]) -> Node:
        self.requests += 1
        document = documents.ALL_DOCUMENTS[operation]
        if operation in documents.MUTATIONS:
            self.mutations += 1
        if self._idempotent_flag:
            idempotent = operation not in _NOT_IDEMPOTENT
            return self.client.execute(document, variables, operation, idempotent=idempotent)  # type: ignore[call-arg]
        return self.client.execute(document, variables, operation)

    def pages(
        self, operation: str, variables: dict[str, Any], connection: Callable[[Node], Node | None]
    ) -> list[Node]:
        nodes: list[Node] = []
        after = ""
        while True:
            data = self.execute(operation, {**variables, "after": after, "first": documents.PAGE_SIZE})
            page = connection(data) or {}
            nodes.extend(node for node in page.get("nodes") or [] if node)
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor") or info["endCursor"] == after:
                return nodes
            after = info["endCursor"]


@dataclass
class _State:
    types: dict[str, Node] = field(default_factory=dict)  # every alias -> type node
    definitions: dict[str, dict[str, Node]] = field(default_factory=dict)  # type id -> alias -> definition
    definition_lists: dict[str, list[Node]] = field(default_factory=dict)  # type id -> definitions in order
    relationships: dict[str, Node] = field(default_factory=dict)  # alias -> node, on the expected type
    elsewhere: dict[str, Node] = field(default_factory=dict)  # alias -> node held on another type

    def type_node(self, alias: str) -> Node | None:
        return self.types.get(alias)


def _read_definitions(reader: _Reader, state: _State, type_id: str) -> None:
    if type_id in state.definition_lists:
        return
    nodes = reader.pages(
        "ComponentTypeProperties",
        {"id": type_id},
        lambda data: ((data.get("account") or {}).get("componentType") or {}).get("properties"),
    )
    state.definition_lists[type_id] = nodes
    state.definitions[type_id] = {alias: node for node in nodes for alias in node.get("aliases") or []}


def _read_state(document: CatalogDocument, reader: _Reader) -> _State:
    state = _State()
    for node in reader.pages(
        "ComponentTypeList", {}, lambda data: (data.get("account") or {}).get("componentTypes")
    ):
        for alias in node.get("aliases") or []:
            state.types.setdefault(alias, node)

    for spec in document.component_types:
        declared = state.type_node(spec.alias)
        if declared is not None:
            _read_definitions(reader, state, declared["id"])
    # Custom rule properties of types this document does not declare are checked against OpsLevel.
    for relationship in document.relationship_definitions:
        for rule in relationship.management_rules or ():
            for type_alias, builtin in (
                (relationship.component_type, rule.source_property_builtin),
                (rule.target_type, rule.target_property_builtin),
            ):
                other = state.type_node(type_alias)
                if not builtin and other is not None and not document.declares(type_alias):
                    _read_definitions(reader, state, other["id"])

    listed: set[str] = set()
    for relationship in document.relationship_definitions:
        owner = state.type_node(relationship.component_type)
        if owner is None or owner["id"] in listed:
            continue
        listed.add(owner["id"])
        for definition in reader.pages(
            "RelationshipDefinitionList",
            {"componentType": {"id": owner["id"]}},
            lambda data: (data.get("account") or {}).get("relationshipDefinitions"),
        ):
            state.relationships.setdefault(definition["alias"], definition)
    for relationship in document.relationship_definitions:
        found = state.relationships.get(relationship.alias)
        owner = state.type_node(relationship.component_type)
        if found is not None and owner is not None and found["componentType"]["id"] == owner["id"]:
            continue
        state.relationships.pop(relationship.alias, None)
        data = reader.execute("RelationshipDefinitionGet", {"alias": relationship.alias})
        held = (data.get("account") or {}).get("relationshipDefinition")
        if held is not None:
            state.elsewhere[relationship.alias] = held
    return state


# ----------------------------------------------------------------------------------- checking


def _check(document: CatalogDocument, state: _State) -> list[str]:
    problems: list[str] = []
    declared = {spec.alias for spec in document.component_types}
    existing = set(state.types)
    known_types = sorted(declared | existing)

    def missing_type(alias: str, where: Location, what: str, allow_builtins: bool) -> None:
        if (
            alias in declared
            or alias in existing
            or (allow_builtins and alias in RELATIONSHIP_TARGET_BUILTINS)
        ):
            return
        candidates = [*known_types, *(RELATIONSHIP_TARGET_BUILTINS if allow_builtins else ())]
        problems.append(
            f"{where}: {what} '{alias}' is neither declared in this document nor a component type in "
            f"OpsLevel{did_you_mean(alias, candidates)}"
        )

    names = {node["name"]: node for node in state.types.values()}
    for spec in document.component_types:
        node = state.type_node(spec.alias)
        holder = names.get(spec.name)
        if holder is not None and (node is None or holder["id"] != node["id"]):
            problems.append(
                f"{spec.where.with_key('name')}: the name '{spec.name}' is already used by component "
                f"type '{_first_alias(holder)}' in OpsLevel (type names are unique)"
            )

    for relationship in document.relationship_definitions:
        where = relationship.where
        missing_type(relationship.component_type, where.with_key("component_type"), "component_type", False)
        for number, alias in enumerate(relationship.allowed_types):
            missing_type(alias, where.with_key(f"allowed_types[{number}]"), "allowed type", True)
        other = state.elsewhere.get(relationship.alias)
        if other is not None:
            owner = _first_alias(other.get("componentType") or {})
            problems.append(
                f"{where.with_key('alias')}: relationship definition '{relationship.alias}' already exists on "
                f"component type '{owner}', not '{relationship.component_type}' (ensure never moves it)"
            )
        for number, rule in enumerate(relationship.management_rules or ()):
            prefix = f"management_rules[{number}]."
            missing_type(rule.target_type, where.with_key(f"{prefix}target_type"), "target_type", True)
            for side, type_alias, prop, builtin in (
                ("source", relationship.component_type, rule.source_property, rule.source_property_builtin),
                ("target", rule.target_type, rule.target_property, rule.target_property_builtin),
            ):
                node = state.type_node(type_alias)
                if builtin or document.declares(type_alias) or node is None:
                    continue
                definitions = state.definitions.get(node["id"], {})
                if prop not in definitions:
                    problems.append(
                        f"{rule.where.with_key(f'{prefix}{side}_property')}: component type '{type_alias}' has "
                        f"no property definition '{prop}' in OpsLevel{did_you_mean(prop, definitions)} "
                        f"(set {side}_property_builtin: true for a built-in field)"
                    )
    return problems


def _first_alias(node: Node) -> str:
    aliases = node.get("aliases") or []
    return str(aliases[0]) if aliases else str(node.get("id"))


# ----------------------------------------------------------------------------------- planning


@dataclass
class _Entry:
    item: EnsureItem
    write: int | None = None  # index of the write that realises it


@dataclass
class _Write:
    operation: str
    field: str
    variables: dict[str, Any]
    result_id: Callable[[Node], str | None] | None = None  # id of a created object, from the payload


def _text(value: Any) -> str | None:
    return html.unescape(value) if isinstance(value, str) else value


def _same_text(before: Any, after: str | None) -> bool:
    return (before or "") == (after or "") or (_text(before) or "") == (after or "")


def _schema_of(node: Node) -> Any:
    schema = node.get("schema")
    if isinstance(schema, str):
        try:
            return json.loads(schema)
        except ValueError:
            return schema
    return schema


def _encode_schema(schema: Any) -> str:
    # JSONSchema travels as a JSON-encoded string (opslevel-go JSONSchema.MarshalJSON).
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def _property_input(spec: PropertySpec, existing: Node | None) -> dict[str, Any]:
    description = spec.description
    if description is None:  # not managed: keep what OpsLevel has
        description = _text((existing or {}).get("description")) or ""
    in_config = spec.allowed_in_config_files
    if in_config is None:  # not managed; always sent, as the API defaults an absent value to true
        in_config = bool((existing or {}).get("allowedInConfigFiles", False))
    return {
        "alias": spec.alias,
        "name": spec.name,
        "description": description,
        "schema": _encode_schema(spec.schema),
        "lockedStatus": spec.locked_status,
        "propertyDisplayStatus": spec.display_status,
        "allowedInConfigFiles": in_config,
    }


def _resend_input(node: Node) -> dict[str, Any]:
    """A definition the document does not declare, re-sent exactly as read."""
    data = {
        "alias": _first_alias(node),
        "name": node["name"],
        "description": _text(node.get("description")) or "",
        "schema": _encode_schema(_schema_of(node)),
        "propertyDisplayStatus": node.get("propertyDisplayStatus") or "visible",
        "allowedInConfigFiles": bool(node.get("allowedInConfigFiles")),
    }
    if node.get("lockedStatus"):
        data["lockedStatus"] = node["lockedStatus"]
    return data


def _property_changes(spec: PropertySpec, node: Node) -> list[Change]:
    changes: list[Change] = []
    if node.get("name") != spec.name:
        changes.append(Change("name", node.get("name"), spec.name))
    if spec.description is not None and not _same_text(node.get("description"), spec.description):
        changes.append(Change("description", _text(node.get("description")), spec.description))
    schema = _schema_of(node)
    if schema != spec.schema:
        changes.append(Change("schema", schema, dict(spec.schema)))
    locked = (node.get("lockedStatus") or "unlocked") == "ui_locked"
    if locked != spec.locked:
        changes.append(Change("locked", locked, spec.locked))
    display = node.get("propertyDisplayStatus") or "visible"
    if display != spec.display_status:
        changes.append(Change("display_status", display, spec.display_status))
    in_config = bool(node.get("allowedInConfigFiles"))
    if spec.allowed_in_config_files is not None and in_config != spec.allowed_in_config_files:
        changes.append(Change("allowed_in_config_files", in_config, spec.allowed_in_config_files))
    return changes


def _payload_id(key: str) -> Callable[[Node], str | None]:
    return lambda payload: (payload.get(key) or {}).get("id")


def _plan_type(spec: ComponentTypeSpec, state: _State, entries: list[_Entry], writes: list[_Write]) -> None:
    node = state.type_node(spec.alias)
    if node is None:
        data: dict[str, Any] = {"alias": spec.alias, "name": spec.name}
        if spec.description is not None:
            data["description"] = spec.description
        data["properties"] = [_property_input(p, None) for p in spec.properties]
        writes.append(
            _Write(
                "ComponentTypeCreate", "componentTypeCreate", {"input": data}, _payload_id("componentType")
            )
        )
        index = len(writes) - 1
        entries.append(_Entry(EnsureItem("component_type", spec.alias, "create"), index))
        for prop in spec.properties:
            entries.append(_Entry(EnsureItem("property_definition", prop.alias, "create", spec.alias), index))
        return

    type_id = node["id"]
    type_changes: list[Change] = []
    type_input: dict[str, Any] = {}
    if node.get("name") != spec.name:
        type_changes.append(Change("name", node.get("name"), spec.name))
        type_input["name"] = spec.name
    if spec.description is not None and not _same_text(node.get("description"), spec.description):
        type_changes.append(Change("description", _text(node.get("description")), spec.description))
        type_input["description"] = spec.description
    type_entry = _Entry(
        EnsureItem(
            "component_type",
            spec.alias,
            "update" if type_changes else "unchanged",
            id=type_id,
            changes=tuple(type_changes),
        )
    )
    entries.append(type_entry)

    existing = state.definitions.get(type_id, {})
    property_entries: list[tuple[PropertySpec, _Entry, Node | None]] = []
    for prop in spec.properties:
        definition = existing.get(prop.alias)
        if definition is None:
            item = EnsureItem("property_definition", prop.alias, "create", spec.alias)
        else:
            changes = _property_changes(prop, definition)
            action: Action = "update" if changes else "unchanged"
            item = EnsureItem(
                "property_definition", prop.alias, action, spec.alias, definition["id"], tuple(changes)
            )
        entry = _Entry(item)
        entries.append(entry)
        property_entries.append((prop, entry, definition))

    if any(entry.item.action == "create" for _, entry, _ in property_entries):
        # One update carrying every definition: declared ones as wanted, the others as they are.
        declared = {prop.alias for prop in spec.properties}
        properties = [
            _resend_input(definition)
            for definition in state.definition_lists.get(type_id, [])
            if not declared.intersection(definition.get("aliases") or [])
        ]
        properties += [_property_input(prop, definition) for prop, _, definition in property_entries]
        writes.append(
            _Write(
                "ComponentTypeUpdate",
                "componentTypeUpdate",
                {"componentType": {"id": type_id}, "input": {**type_input, "properties": properties}},
            )
        )
        for entry in [type_entry, *(entry for _, entry, _ in property_entries)]:
            if entry.item.action != "unchanged":
                entry.write = len(writes) - 1
        return

    if type_changes:
        writes.append(
            _Write(
                "ComponentTypeUpdate",
                "componentTypeUpdate",
                {"componentType": {"id": type_id}, "input": type_input},
            )
        )
        type_entry.write = len(writes) - 1
    for prop, entry, definition in property_entries:
        if entry.item.action != "update" or definition is None:
            continue
        data = _property_input(prop, definition)
        del data["alias"]
        writes.append(
            _Write(
                "PropertyDefinitionUpdate",
                "propertyDefinitionUpdate",
                {"propertyDefinition": {"id": definition["id"]}, "input": data},
            )
        )
        entry.write = len(writes) - 1


def _rule_dict(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule (input or read back) in the document's key names, for comparing and reporting."""
    out = {
        "operator": rule.get("operator") or "EQUALS",
        "source_property": rule.get("sourceProperty"),
        "source_property_builtin": bool(rule.get("sourcePropertyBuiltin")),
        "target_property": rule.get("targetProperty"),
        "target_property_builtin": bool(rule.get("targetPropertyBuiltin")),
        "target_type": rule.get("targetType"),
    }
    if rule.get("targetCategory"):
        out["target_category"] = rule["targetCategory"]
    return out


def _rules_key(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules)


def _plan_relationship(
    spec: RelationshipDefinitionSpec, state: _State, entries: list[_Entry], writes: list[_Write]
) -> None:
    wanted_rules = (
        None if spec.management_rules is None else [rule.as_input() for rule in spec.management_rules]
    )
    node = state.relationships.get(spec.alias)
    if node is None:
        metadata: dict[str, Any] = {"allowedTypes": list(spec.allowed_types)}
        if spec.min_items is not None:
            metadata["minItems"] = spec.min_items
        if spec.max_items is not None:
            metadata["maxItems"] = spec.max_items
        data: dict[str, Any] = {
            "alias": spec.alias,
            "name": spec.name,
            "componentType": {"alias": spec.component_type},
            "metadata": metadata,
        }
        if spec.description is not None:
            data["description"] = spec.description
        if wanted_rules is not None:
            data["managementRules"] = wanted_rules
        writes.append(
            _Write(
                "RelationshipDefinitionCreate",
                "relationshipDefinitionCreate",
                {"input": data},
                _payload_id("definition"),
            )
        )
        item = EnsureItem("relationship_definition", spec.alias, "create", spec.component_type)
        entries.append(_Entry(item, len(writes) - 1))
        return

    changes: list[Change] = []
    update: dict[str, Any] = {}
    if node.get("name") != spec.name:
        changes.append(Change("name", node.get("name"), spec.name))
        update["name"] = spec.name
    if spec.description is not None and not _same_text(node.get("description"), spec.description):
        changes.append(Change("description", _text(node.get("description")), spec.description))
        update["description"] = spec.description
    read_metadata = node.get("metadata") or {}
    metadata = {
        "allowedTypes": list(read_metadata.get("allowedTypes") or []),
        "allowedCategories": list(read_metadata.get("allowedCategories") or []),
        "minItems": read_metadata.get("minItems"),
        "maxItems": read_metadata.get("maxItems"),
    }
    metadata_changed = False
    if sorted(metadata["allowedTypes"]) != sorted(spec.allowed_types):
        changes.append(Change("allowed_types", metadata["allowedTypes"], list(spec.allowed_types)))
        metadata["allowedTypes"] = list(spec.allowed_types)
        metadata_changed = True
    for key, name, wanted in (
        ("minItems", "min_items", spec.min_items),
        ("maxItems", "max_items", spec.max_items),
    ):
        if wanted is not None and metadata[key] != wanted:
            changes.append(Change(name, metadata[key], wanted))
            metadata[key] = wanted
            metadata_changed = True
    if metadata_changed:
        update["metadata"] = metadata
    if wanted_rules is not None:
        before = [_rule_dict(rule) for rule in node.get("managementRules") or []]
        after = [_rule_dict(rule) for rule in wanted_rules]
        if _rules_key(before) != _rules_key(after):
            changes.append(Change("management_rules", before, after))
            update["managementRules"] = wanted_rules
    entry = _Entry(
        EnsureItem(
            "relationship_definition",
            spec.alias,
            "update" if changes else "unchanged",
            spec.component_type,
            node["id"],
            tuple(changes),
        )
    )
    if changes:
        writes.append(
            _Write(
                "RelationshipDefinitionUpdate",
                "relationshipDefinitionUpdate",
                {"relationshipDefinition": {"id": node["id"]}, "input": update},
            )
        )
        entry.write = len(writes) - 1
    entries.append(entry)


# ------------------------------------------------------------------------------------ applying


def ensure_catalog(
    document: CatalogDocument, client: OpsLevelClient, *, dry_run: bool = False
) -> EnsureReport:
    """Create or update the document's component types, property definitions and relationship
    definitions in OpsLevel; never delete anything. A second run sends no mutation.

    :param document: from :func:`~airflow_provider_opslevel.catalog_setup.load_catalog`.
    :param client: the OpsLevel GraphQL client (``OpsLevelHook.get_client()`` in a task).
    :param dry_run: read and plan only; the report says what a real run would do.
    :returns: one item per declared object, with field-level changes for updates.
    :raises CatalogSetupError: a check failed before anything was written (every problem listed),
        or OpsLevel refused a write (``.report`` holds what was done before it).
    :raises OpsLevelApiError: a read failed (HTTP error or top-level GraphQL errors).
    """
    reader = _Reader(client)
    state = _read_state(document, reader)
    problems = _check(document, state)
    if problems:
        raise CatalogSetupError(problems)
    entries: list[_Entry] = []
    writes: list[_Write] = []
    for spec in document.component_types:
        _plan_type(spec, state, entries, writes)
    for relationship in document.relationship_definitions:
        _plan_relationship(relationship, state, entries, writes)

    if dry_run:
        return EnsureReport(tuple(e.item for e in entries), True, reader.requests, reader.mutations)

    created_ids: dict[int, str | None] = {}
    for index, write in enumerate(writes):
        try:
            payload = _mutate(reader, write)
        except (_PayloadError, OpsLevelApiError) as error:
            done = [e for e in entries if e.write is None or e.write < index]
            pending = [e.item.label for e in entries if e.write is not None and e.write >= index]
            report = EnsureReport(_items(done, created_ids), False, reader.requests, reader.mutations)
            raise CatalogSetupError(
                f"{write.operation} failed: {error}; not done (or not confirmed): {', '.join(pending)}",
                report,
            ) from error
        if write.result_id is not None:
            created_ids[index] = write.result_id(payload)
    return EnsureReport(_items(entries, created_ids), False, reader.requests, reader.mutations)


def _items(entries: list[_Entry], created_ids: dict[int, str | None]) -> tuple[EnsureItem, ...]:
    """The entries' items, with the ids of the types and relationships that were created."""
    items = []
    for entry in entries:
        item = entry.item
        if entry.write is not None and entry.write in created_ids and item.kind != "property_definition":
            item = replace(item, id=created_ids[entry.write])
        items.append(item)
    return tuple(items)


def _mutate(reader: _Reader, write: _Write) -> Node:
    payload = reader.execute(write.operation, write.variables).get(write.field)
    if payload is None:
        raise _PayloadError(f"{write.field}: no payload returned")
    if payload.get("errors"):
        raise _PayloadError(f"{write.field}: {format_errors(cast(list[dict[str, Any]], payload['errors']))}")
    return cast(Node, payload)
