"""Build :class:`Extractor` and :class:`OAuth` models from the extract document's YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from airflow_provider_opslevel.config.fields import ItemContext
from airflow_provider_opslevel.config.models import (
    CursorSource,
    Extractor,
    Header,
    HttpMethod,
    HttpPolling,
    NextCursor,
    OAuth,
)
from airflow_provider_opslevel.config.yaml_source import Position, YamlMapping
from airflow_provider_opslevel.errors import ConfigProblem
from airflow_provider_opslevel.expressions import JqExpression
from airflow_provider_opslevel.templating import Template, TemplateEngine

__all__ = ["EXTRACTOR_KEYS", "HTTP_POLLING_KEYS", "ParsedExtractor", "parse_extractor", "parse_oauth"]

EXTRACTOR_KEYS = ("external_kind", "iterator", "external_id", "exclude", "expires_after_days", "http_polling")
HTTP_POLLING_KEYS = ("method", "url", "headers", "body", "for_each", "next_cursor", "rate_limit")
HEADER_KEYS = ("name", "value")
NEXT_CURSOR_KEYS = ("from", "value")
OAUTH_KEYS = ("grant_type", "token_url", "client_id", "client_secret", "extra_params")


@dataclass
class ParsedExtractor:
    """An extractor item as read, kept even when invalid so cross-checks do not cascade.

    :ivar model: the built extractor, or ``None`` when the item had problems.
    :ivar context: reads locations for cross-item problems.
    :ivar for_each: the ``http_polling.for_each`` text, if readable.
    """

    index: int
    context: ItemContext
    model: Extractor | None = None
    for_each: str | None = None

    @property
    def kind(self) -> str | None:
        """The item's external_kind, if readable."""
        return self.context.external_kind


def parse_extractor(
    file: str,
    problems: list[ConfigProblem],
    engine: TemplateEngine,
    index: int,
    item: Any,
    position: Position,
) -> ParsedExtractor:
    """Validate one ``extractors`` item and build its model.

    :param file: the extract file, as given.
    :param problems: where problems are recorded.
    :param engine: compiles templates.
    :param index: the item's position in ``extractors``.
    :param item: the item's YAML value.
    :param position: the item's position in the list.
    """
    context = ItemContext(file, problems, "extractors", index)
    parsed = ParsedExtractor(index, context)
    mapping = context.mapping(item, "", position)
    if mapping is None:
        return parsed
    context.external_kind = context.string(mapping, "external_kind", required=True)
    context.check_keys(mapping, "", EXTRACTOR_KEYS, required=("external_kind", "external_id"))
    where = context.location(None, mapping.line)

    iterator = context.jq(mapping, "iterator") if "iterator" in mapping else None
    external_id = context.jq(mapping, "external_id", required=True)
    exclude = context.jq(mapping, "exclude")
    expires_after_days = context.positive_int(mapping, "expires_after_days")

    http_polling = None
    found = context.get(mapping, "http_polling", "", required=True)
    if found is not None:
        polling = context.mapping(found[0], "http_polling", found[1])
        if polling is not None:
            http_polling, parsed.for_each = _parse_http_polling(context, engine, polling)
        if expires_after_days is not None:
            context.problem(
                "expires_after_days",
                mapping.position("expires_after_days").value_line,
                "expires_after_days applies only to push integrations (extractors without http_polling)",
            )

    if context.ok and context.external_kind and external_id is not None:
        if iterator is None:  # OpsLevel's default
            iterator = JqExpression(".", where.with_key("iterator"))
        parsed.model = Extractor(
            external_kind=context.external_kind,
            iterator=iterator,
            external_id=external_id,
            exclude=exclude,
            expires_after_days=expires_after_days,
            http_polling=http_polling,
            where=where,
            locations=context.final_locations(),
        )
    return parsed


def _parse_http_polling(
    context: ItemContext, engine: TemplateEngine, polling: YamlMapping
) -> tuple[HttpPolling | None, str | None]:
    prefix = "http_polling."
    start_ok = len(context.problems)
    context.check_keys(polling, prefix, HTTP_POLLING_KEYS, required=("url",))
    method = (
        context.choice(polling, "method", prefix, ("GET", "POST"), upper=True)
        if "method" in polling
        else "GET"
    )
    for_each = context.string(polling, "for_each", prefix)
    names = {"cursor", for_each} if for_each else {"cursor"}
    url = context.template(engine, polling, "url", prefix, names, required=True)

    headers: list[Header] = []
    found = context.get(polling, "headers", prefix, required=False)
    if found is not None:
        hint = "; write headers as a list of {name, value} entries" if isinstance(found[0], dict) else ""
        items = context.sequence(found[0], "http_polling.headers", found[1], hint)
        if items is not None:
            for number, (header, position) in enumerate(items.entries()):
                parsed = _parse_header(context, engine, number, header, position, names)
                if parsed is not None:
                    headers.append(parsed)

    body = context.template(engine, polling, "body", prefix, names)
    if body is not None and method == "GET":
        context.problem(
            "http_polling.body", polling.position("body").value_line, "body is only allowed with method POST"
        )

    next_cursor = None
    found = context.get(polling, "next_cursor", prefix, required=False)
    if found is not None:
        cursor = context.mapping(found[0], "http_polling.next_cursor", found[1])
        if cursor is not None:
            next_cursor = _parse_next_cursor(context, cursor)

    if "rate_limit" in polling:
        context.problem(
            "http_polling.rate_limit",
            polling.position("rate_limit").key_line,
            "rate_limit is not supported yet",
            not_supported=True,
        )

    if len(context.problems) != start_ok or url is None or method is None:
        return None, for_each
    model = HttpPolling(
        method=cast(HttpMethod, method),
        url=url,
        where=context.location("http_polling", polling.line),
        headers=tuple(headers),
        body=body,
        for_each=for_each,
        next_cursor=next_cursor,
    )
    return model, for_each


def _parse_header(
    context: ItemContext, engine: TemplateEngine, number: int, item: Any, position: Position, names: set[str]
) -> Header | None:
    path = f"http_polling.headers[{number}]"
    header = context.mapping(item, path, position)
    if header is None:
        return None
    context.check_keys(header, f"{path}.", HEADER_KEYS, required=HEADER_KEYS)
    name = context.string(header, "name", f"{path}.", required=True)
    value = context.template(engine, header, "value", f"{path}.", names, required=True)
    if name is None or value is None:
        return None
    return Header(name=name, value=value, where=context.location(path, header.line))


def _parse_next_cursor(context: ItemContext, cursor: YamlMapping) -> NextCursor | None:
    prefix = "http_polling.next_cursor."
    context.check_keys(cursor, prefix, NEXT_CURSOR_KEYS, required=NEXT_CURSOR_KEYS)
    source = context.choice(cursor, "from", prefix, ("header", "payload")) if "from" in cursor else None
    value = context.jq(cursor, "value", prefix, required=True)
    if source is None or value is None:
        return None
    return NextCursor(
        from_=cast(CursorSource, source),
        value=value,
        where=context.location("http_polling.next_cursor", cursor.line),
    )


def parse_oauth(
    file: str, problems: list[ConfigProblem], engine: TemplateEngine, value: Any, position: Position
) -> OAuth | None:
    """Validate the top-level ``oauth`` mapping and build its model.

    The caller reports that oauth is not supported yet; this only checks what was written.

    :param file: the extract file, as given.
    :param problems: where problems are recorded.
    :param engine: compiles templates.
    :param value: the ``oauth`` YAML value.
    :param position: its position.
    """
    context = ItemContext(file, problems, "oauth")
    oauth = context.mapping(value, "", position)
    if oauth is None:
        return None
    required = ("grant_type", "token_url", "client_id", "client_secret")
    context.check_keys(oauth, "", OAUTH_KEYS, required=required)
    grant_type = (
        context.choice(oauth, "grant_type", "", ("client_credentials",)) if "grant_type" in oauth else None
    )
    token_url = context.template(engine, oauth, "token_url", "", (), required=True)
    client_id = context.template(engine, oauth, "client_id", "", (), required=True)
    client_secret = context.template(engine, oauth, "client_secret", "", (), required=True)
    extra_params: dict[str, Template] = {}
    found = context.get(oauth, "extra_params", "", required=False)
    if found is not None:
        params = context.mapping(found[0], "extra_params", found[1])
        if params is not None:
            for key in params:
                compiled = context.template(engine, params, key, "extra_params.", ())
                if compiled is not None:
                    extra_params[str(key)] = compiled
    if (
        not context.ok
        or grant_type is None
        or token_url is None
        or client_id is None
        or client_secret is None
    ):
        return None
    return OAuth(
        grant_type="client_credentials",
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        where=context.location(None, oauth.line),
        extra_params=extra_params,
    )
