"""The documents both commands read: loading them with every problem, and what they declare."""

from __future__ import annotations

from typing import Any

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.catalog_setup.models import CatalogDocument
from airflow_provider_opslevel.config import Integration, load_integration
from airflow_provider_opslevel.errors import ConfigError
from airflow_provider_opslevel.transform.report import property_routes, property_table, table


def _config_problems(exc: ConfigError) -> list[str]:
    return [str(problem) for problem in exc.problems] or [str(exc)]


def load_documents(
    extract: str, transform: str, catalog: str | None
) -> tuple[Integration | None, CatalogDocument | None, list[str]]:
    """Both documents (and the catalog), or every problem found in them."""
    problems: list[str] = []
    integration = document = None
    try:
        integration = load_integration(extract, transform)
    except ConfigError as exc:
        problems += _config_problems(exc)
    if catalog:
        try:
            document = load_catalog(catalog)
        except ConfigError as exc:
            problems += _config_problems(exc)
    return integration, document, problems


def summary(integration: Integration, document: CatalogDocument | None) -> dict[str, Any]:
    """What the documents declare, JSON-able."""
    extractors: list[dict[str, Any]] = []
    for extractor in integration.ordered():
        polling = extractor.http_polling
        extractors.append(
            {
                "external_kind": extractor.external_kind,
                "method": polling.method if polling else None,
                "for_each": extractor.for_each,
                "push": extractor.is_push,
                "secrets": sorted(polling.secret_names) if polling else [],
            }
        )
    transforms = [
        {
            "external_kind": t.external_kind,
            "opslevel_kind": t.opslevel_kind,
            "on_component_not_found": t.on_component_not_found,
            "properties": sorted(t.properties),
            "default_properties": [name for name, _ in t.default_properties.items()],
        }
        for t in integration.transforms
    ]
    catalog = None
    if document is not None:
        catalog = {
            "component_types": [
                {"alias": spec.alias, "properties": [p.alias for p in spec.properties]}
                for spec in document.component_types
            ],
            "relationship_definitions": [spec.alias for spec in document.relationship_definitions],
        }
    return {
        "extractors": extractors,
        "transforms": transforms,
        "kinds": {
            "external": [e.external_kind for e in integration.extractors],
            "opslevel": sorted({t.opslevel_kind for t in integration.transforms}),
        },
        "secrets": sorted({name for e in extractors for name in e["secrets"]}),
        "catalog": catalog,
        "property_keys": offline_property_keys(integration, document),
    }


def offline_property_keys(integration: Integration, document: CatalogDocument | None) -> list[dict[str, str]]:
    """Where each ``properties:`` key goes, judged by the catalog document's types (no network)."""
    from airflow_provider_opslevel.catalog_setup.planning import declared_component_types

    declared = declared_component_types(document) if document is not None else {}
    return property_routes(integration.transforms, declared)


def summary_text(info: dict[str, Any]) -> list[str]:
    """:func:`summary` as text lines."""
    lines = [f"extractors ({len(info['extractors'])}, parents first):"]
    rows = [
        [
            e["external_kind"],
            e["method"] or "push",
            f"for_each {e['for_each']}" if e["for_each"] else ("push" if e["push"] else "root"),
        ]
        for e in info["extractors"]
    ]
    lines += ["  " + line for line in table(["external_kind", "method", "runs"], rows).splitlines()]
    lines.append(f"transforms ({len(info['transforms'])}):")
    for t in info["transforms"]:
        mapped = [*t["default_properties"], *t["properties"]]
        lines.append(
            f"  {t['external_kind']} -> {t['opslevel_kind']} (on_component_not_found: "
            f"{t['on_component_not_found']}; properties: {', '.join(mapped) or 'none'})"
        )
    kinds = info["kinds"]
    lines.append(
        f"kinds: external {', '.join(kinds['external'])}; OpsLevel {', '.join(kinds['opslevel']) or 'none'}"
    )
    lines.append(f"secrets: {', '.join(info['secrets']) or 'none'}")
    lines += property_keys_text(info["property_keys"])
    catalog = info["catalog"]
    if catalog is not None:
        types = ", ".join(
            f"{t['alias']} ({len(t['properties'])} properties)" for t in catalog["component_types"]
        )
        lines.append(
            f"catalog: component types {types or 'none'}; relationship definitions "
            f"{', '.join(catalog['relationship_definitions']) or 'none'}"
        )
    return lines


def property_keys_text(rows: list[dict[str, str]]) -> list[str]:
    """:func:`offline_property_keys` as text lines (none when no transform has ``properties:``)."""
    if not rows:
        return []
    return [
        "properties keys (OpsLevel's definitions of the component type decide at run time):",
        *("  " + line for line in property_table(rows).splitlines()),
    ]
