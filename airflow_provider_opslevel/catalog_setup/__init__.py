"""Catalog setup as code: the component types, property definitions and relationship definitions
an integration needs (the seed's clicks through *Settings > Component Types*), declared in an
optional YAML *catalog document* and created or updated in OpsLevel before a sync.

Nothing here imports Airflow. ``doc = load_catalog(path)`` validates at DAG-parse time;
``ensure_catalog(doc, client, dry_run=False)`` reads OpsLevel, plans and writes (see
:mod:`.ensure` for the exact steps) and returns an :class:`EnsureReport`
(``.to_dict()`` for XCom, ``.to_text()`` for the task log).

The document (``dags/sentry_issues/catalog.yaml`` is the seed's Step 1 and Step 5)::

    component_types:                      # optional list
    - alias: sentry_issue                 # required; the transforms' opslevel_kind
      name: Sentry Issue                  # required; unique across the account
      description: Used to track ...     # optional; left as it is in OpsLevel when absent
      properties:                         # optional list; undeclared definitions are kept
      - alias: project_slug               # required; the transforms' properties: key
        name: Project Slug                # required
        schema: {type: array, items: {type: string}}   # required JSON Schema (checked)
        description: ...                  # optional; left as it is when absent
        locked: true                      # default true  (lockedStatus ui_locked; false = unlocked)
        display_status: visible           # default visible (or hidden)
        allowed_in_config_files: false    # optional; false on creation, left as it is when absent
    relationship_definitions:             # optional list
    - alias: sentry_issues                # required; unique across the account
      name: Sentry Issues                 # required
      component_type: service             # required; the type it belongs to (the rules' source)
      allowed_types: [sentry_issue]       # required; types it may target (or team, user)
      description: ...                    # optional; left as it is when absent
      min_items: 0                        # optional; left as it is when absent
      max_items: 10                       # optional; left as it is when absent
      management_rules:                   # optional; when given, the complete rule set
      - operator: ARRAY_CONTAINS          # EQUALS (default) or ARRAY_CONTAINS (case-insensitive)
        source_property: aliases          # on component_type
        target_property: project_slug     # on target_type
        target_type: sentry_issue         # default: the only allowed type; must be in allowed_types
        source_property_builtin: true     # optional; inferred, see below
        target_property_builtin: false    # optional; inferred, see below

Rules:

- ``*_property_builtin`` is inferred: ``aliases``, ``name``, ``id``, ``description``,
  ``framework``, ``language``, ``product``, ``lifecycle``, ``tier`` and ``owner`` are built-in
  fields, anything else is a custom property alias. Give the flag to override; it is required
  when a name is both a built-in field and a property the document declares on that type.
- A custom rule property on a type this document declares must be one of its declared properties
  (checked at load time, with a suggestion). On a type only OpsLevel knows (``service``), it is
  checked against OpsLevel's definitions by :func:`ensure_catalog` before anything is written.
- Type references (``component_type``, ``allowed_types``, ``target_type``) may name a type this
  document declares, ``service`` (OpsLevel's default type), ``team``/``user`` (targets only) or
  any other string: a type that only exists in OpsLevel cannot be checked offline, so
  :func:`ensure_catalog` checks every reference against OpsLevel first and fails — writing
  nothing — naming the YAML item and suggesting the nearest type.
- Load-time errors (:class:`~airflow_provider_opslevel.errors.ConfigError`) name file, line, item
  and key: ``catalog.yaml:14: component_types[0] (sentry_issue) properties[2].schema: ...``.
  Checked: YAML syntax, repeated keys, unknown keys (did-you-mean), types, required keys, enum
  values, JSON Schema validity (``jsonschema``'s ``check_schema``, pointing inside the schema),
  duplicate type aliases / names, duplicate property aliases per type, duplicate relationship
  aliases, duplicate allowed types, ``target_type`` outside ``allowed_types``,
  ``min_items > max_items``. ``---``-separated documents are merged.
- Never deleted: types, definitions, relationship definitions or rules the document does not
  mention. Listing ``management_rules`` replaces that relationship's rule set (``[]`` clears it).
"""

from airflow_provider_opslevel.catalog_setup.ensure import ensure_catalog
from airflow_provider_opslevel.catalog_setup.errors import CatalogSetupError
from airflow_provider_opslevel.catalog_setup.loader import clear_cache, load_catalog
from airflow_provider_opslevel.catalog_setup.models import (
    BUILTIN_RULE_PROPERTIES,
    CatalogDocument,
    ComponentTypeSpec,
    ManagementRuleSpec,
    PropertySpec,
    RelationshipDefinitionSpec,
)
from airflow_provider_opslevel.catalog_setup.report import EnsureItem, EnsureReport, SetupChange

__all__ = [
    "BUILTIN_RULE_PROPERTIES",
    "CatalogDocument",
    "CatalogSetupError",
    "ComponentTypeSpec",
    "EnsureItem",
    "EnsureReport",
    "ManagementRuleSpec",
    "PropertySpec",
    "RelationshipDefinitionSpec",
    "SetupChange",
    "clear_cache",
    "ensure_catalog",
    "load_catalog",
]
