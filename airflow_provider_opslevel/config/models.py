"""Typed, immutable models of the extract and transform documents.

Attribute names follow the YAML keys; jq keys hold a compiled
:class:`~airflow_provider_opslevel.expressions.JqExpression` and template keys a compiled
:class:`~airflow_provider_opslevel.templating.Template` (their ``.source`` is the text as written).
Every model has ``where`` (its own location); items also have ``locations`` (dotted key path →
:class:`~airflow_provider_opslevel.errors.Location`) for runtime errors.

Instances are shared between DAG parses through the loader's cache: never mutate them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal

from airflow_provider_opslevel.errors import Location
from airflow_provider_opslevel.expressions import JqExpression
from airflow_provider_opslevel.templating import Template

__all__ = [
    "DefaultProperties",
    "Extractor",
    "Header",
    "HttpMethod",
    "HttpPolling",
    "NextCursor",
    "OAuth",
    "OnComponentNotFound",
    "Transform",
]

HttpMethod = Literal["GET", "POST"]
CursorSource = Literal["header", "payload"]
OnComponentNotFound = Literal["create", "skip", "suggest"]


def _location(where: Location, locations: Mapping[str, Location], key: str) -> Location:
    return locations.get(key) or where.with_key(key)


@dataclass(frozen=True, eq=False)
class Header:
    """One ``http_polling.headers`` entry.

    :ivar name: header name, plain text.
    :ivar value: compiled template.
    """

    name: str
    value: Template
    where: Location


@dataclass(frozen=True, eq=False)
class NextCursor:
    """``http_polling.next_cursor``: where the next page's ``cursor`` comes from.

    :ivar from_: ``"header"`` (jq runs on the response headers: lower-cased names, ``link`` parsed
        by ``rel``) or ``"payload"`` (jq runs on the response body). YAML key ``from``.
    :ivar value: compiled jq; a ``null`` result ends paging.
    """

    from_: CursorSource
    value: JqExpression
    where: Location


@dataclass(frozen=True, eq=False)
class HttpPolling:
    """``http_polling``: how a pull extractor calls its API.

    :ivar method: ``"GET"`` or ``"POST"`` (upper-cased).
    :ivar url: compiled template.
    :ivar headers: in file order.
    :ivar body: compiled template (POST only).
    :ivar for_each: the parent extractor's ``external_kind``; templates see the parent item under
        that name.
    :ivar next_cursor: paging, or ``None`` for a single request.
    :ivar template_names: the variables its templates may read (``cursor`` and ``for_each``).
    """

    method: HttpMethod
    url: Template
    where: Location
    headers: tuple[Header, ...] = ()
    body: Template | None = None
    for_each: str | None = None
    next_cursor: NextCursor | None = None

    @property
    def template_names(self) -> frozenset[str]:
        """Variables the templates may read."""
        return frozenset({"cursor", self.for_each} if self.for_each else {"cursor"})

    def templates(self) -> Iterator[Template]:
        """Every compiled template: url, header values, body."""
        yield self.url
        for header in self.headers:
            yield header.value
        if self.body is not None:
            yield self.body

    @property
    def uses_secrets(self) -> bool:
        """Whether any template reads a secret."""
        return any(template.uses_secrets for template in self.templates())

    @property
    def secret_names(self) -> frozenset[str]:
        """Secret names given literally to the ``secret`` filter (e.g. ``sentry_api_token``)."""
        return frozenset().union(*(template.secret_names for template in self.templates()))


@dataclass(frozen=True, eq=False)
class Extractor:
    """One ``extractors`` item.

    :ivar external_kind: unique name of the data type.
    :ivar iterator: compiled jq splitting a response into items (default ``"."``).
    :ivar external_id: compiled jq giving each item's stable id.
    :ivar exclude: compiled jq predicate; a truthy result drops the item.
    :ivar expires_after_days: push extractors only.
    :ivar http_polling: ``None`` for a push extractor.
    :ivar where: location of the item (its first line).
    :ivar locations: dotted key path → location, e.g. ``"http_polling.headers[1].value"``.
    """

    external_kind: str
    iterator: JqExpression
    external_id: JqExpression
    where: Location
    exclude: JqExpression | None = None
    expires_after_days: int | None = None
    http_polling: HttpPolling | None = None
    locations: Mapping[str, Location] = field(default_factory=dict, repr=False)

    @property
    def is_push(self) -> bool:
        """True when the extractor receives data by webhook (no ``http_polling``)."""
        return self.http_polling is None

    @property
    def for_each(self) -> str | None:
        """Shortcut for ``http_polling.for_each``."""
        return self.http_polling.for_each if self.http_polling else None

    def location(self, key: str) -> Location:
        """Location of ``key`` (dotted path); the item's location with that key if it is absent."""
        return _location(self.where, self.locations, key)


@dataclass(frozen=True, eq=False)
class DefaultProperties:
    """``default_properties``: built-in component fields, each a compiled jq or ``None``."""

    name: JqExpression | None = None
    description: JqExpression | None = None
    owner: JqExpression | None = None
    lifecycle: JqExpression | None = None
    tier: JqExpression | None = None
    framework: JqExpression | None = None
    language: JqExpression | None = None
    product: JqExpression | None = None
    tags: JqExpression | None = None

    def items(self) -> list[tuple[str, JqExpression]]:
        """The fields that are set, in declaration order."""
        found = ((f.name, getattr(self, f.name)) for f in fields(self))
        return [(name, expression) for name, expression in found if expression is not None]


DEFAULT_PROPERTY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(DefaultProperties))


@dataclass(frozen=True, eq=False)
class Transform:
    """One ``transforms`` item.

    :ivar external_kind: the extractor whose items it maps (several transforms may share one).
    :ivar opslevel_kind: component type identifier (``service``, ``sentry_issue``...).
    :ivar opslevel_identifier: compiled jq; matches components and becomes an alias.
    :ivar on_component_not_found: ``"create"``, ``"skip"`` or ``"suggest"``.
    :ivar properties: custom-property identifier → compiled jq, in file order.
    :ivar default_properties: built-in fields.
    :ivar aliases: compiled jq expressions; each result is a string or a list of strings.
    """

    external_kind: str
    opslevel_kind: str
    opslevel_identifier: JqExpression
    on_component_not_found: OnComponentNotFound
    where: Location
    properties: Mapping[str, JqExpression] = field(default_factory=dict)
    default_properties: DefaultProperties = field(default_factory=DefaultProperties)
    aliases: tuple[JqExpression, ...] = ()
    locations: Mapping[str, Location] = field(default_factory=dict, repr=False)

    def location(self, key: str) -> Location:
        """Location of ``key`` (dotted path, e.g. ``properties.url``)."""
        return _location(self.where, self.locations, key)


@dataclass(frozen=True, eq=False)
class OAuth:
    """Top-level ``oauth`` of the extract document (parsed and validated; not supported yet).

    :ivar grant_type: only ``"client_credentials"``.
    :ivar token_url: compiled template.
    :ivar client_id: compiled template (usually a ``secret``).
    :ivar client_secret: compiled template (usually a ``secret``).
    :ivar extra_params: parameter name → compiled template.
    """

    grant_type: Literal["client_credentials"]
    token_url: Template
    client_id: Template
    client_secret: Template
    where: Location
    extra_params: Mapping[str, Template] = field(default_factory=dict)
