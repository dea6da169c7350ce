"""Loading catalog documents: the shipped example, caching, and every validation rule.

Each problem must name file, line, item (section, index, alias) and key, like the extract and
transform loaders do.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from catalog_setup_helpers import SHIPPED

from airflow_provider_opslevel.catalog_setup import (
    CatalogDocument,
    ComponentTypeSpec,
    ManagementRuleSpec,
    PropertySpec,
    RelationshipDefinitionSpec,
    load_catalog,
)
from airflow_provider_opslevel.catalog_setup.schema_checks import MAX_SCHEMA_DEPTH
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem

Write = Callable[..., Path]

BASE = """\
component_types:
- alias: sentry_issue
  name: Sentry Issue
  properties:
  - alias: project_slug
    name: Project Slug
    schema: {type: array, items: {type: string}}
  - alias: substatus
    name: Substatus
    schema: {type: string}
  - alias: url
    name: URL
    schema:
      type: string
relationship_definitions:
- alias: sentry_issues
  name: Sentry Issues
  component_type: service
  allowed_types: [sentry_issue]
  management_rules:
  - operator: ARRAY_CONTAINS
    source_property: aliases
    target_property: project_slug
"""


def problems(write: Write, text: str) -> list[ConfigProblem]:
    path = write(text)
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    return info.value.problems


def one(found: list[ConfigProblem], key: str | None = None) -> ConfigProblem:
    matching = [p for p in found if p.location is not None and (key is None or p.location.key == key)]
    assert len(matching) == 1, [str(p) for p in found]
    return matching[0]


def where(problem: ConfigProblem) -> tuple[str, int | None, str | None, int | None, str | None, str | None]:
    location = problem.location
    assert location is not None
    return (
        Path(location.file).name,
        location.line,
        location.section,
        location.index,
        location.external_kind,
        location.key,
    )


# ------------------------------------------------------------------------------ valid documents


def test_shipped_catalog_is_the_seeds_manual_setup() -> None:
    document = load_catalog(SHIPPED)
    assert isinstance(document, CatalogDocument)
    assert document.component_types == (
        ComponentTypeSpec(
            alias="sentry_issue",
            name="Sentry Issue",
            description="Used to track Sentry issues related to services",
            properties=(
                PropertySpec("project_slug", "Project Slug", {"type": "array", "items": {"type": "string"}}),
                PropertySpec("substatus", "Substatus", {"type": "string"}),
                PropertySpec("url", "URL", {"type": "string"}),
            ),
        ),
    )
    assert all(p.locked and p.locked_status == "ui_locked" for p in document.component_types[0].properties)
    assert document.relationship_definitions == (
        RelationshipDefinitionSpec(
            alias="sentry_issues",
            name="Sentry Issues",
            component_type="service",
            allowed_types=("sentry_issue",),
            management_rules=(
                ManagementRuleSpec(
                    operator="ARRAY_CONTAINS",
                    source_property="aliases",
                    source_property_builtin=True,
                    target_property="project_slug",
                    target_property_builtin=False,
                    target_type="sentry_issue",
                ),
            ),
        ),
    )
    rule = document.relationship_definitions[0].management_rules[0]  # type: ignore[index]
    assert rule.as_input() == {
        "operator": "ARRAY_CONTAINS",
        "sourceProperty": "aliases",
        "sourcePropertyBuiltin": True,
        "targetProperty": "project_slug",
        "targetPropertyBuiltin": False,
        "targetType": "sentry_issue",
    }
    assert str(document.component_type("sentry_issue").where).startswith(f"{SHIPPED}:")


def test_shipped_catalog_matches_the_shipped_transform() -> None:
    """Every custom property the seed's transform writes is declared (built-in ``name`` aside)."""
    from airflow_provider_opslevel.config import load_integration

    here = SHIPPED.parent
    integration = load_integration(here / "extract.yaml", here / "transform.yaml")
    catalog = load_catalog(SHIPPED)
    for transform in integration.transforms:
        declared = {p.alias for p in catalog.component_type(transform.opslevel_kind).properties}
        assert set(transform.properties) - {"name"} <= declared


def test_defaults_overrides_and_inference(write: Write) -> None:
    text = BASE.replace(
        "    schema: {type: string}\n  - alias: url",
        "    schema: {type: string}\n    locked: false\n    display_status: HIDDEN\n"
        "    allowed_in_config_files: true\n    description: Sentry's substatus\n  - alias: url",
    ).replace(
        "    target_property: project_slug\n",
        "    target_property: project_slug\n  - source_property: tier\n    target_property: url\n"
        "    source_property_builtin: false\n",
    )
    text = text.replace(
        "relationship_definitions:",
        "- alias: tiered\n  name: Tiered\n  properties:\n  - {alias: tier, name: Tier, schema: {}}\n"
        "relationship_definitions:",
    ).replace("  component_type: service\n", "  component_type: tiered\n")
    document = load_catalog(write(text))
    substatus = document.component_type("sentry_issue").property("substatus")
    assert (substatus.locked, substatus.locked_status, substatus.display_status) == (
        False,
        "unlocked",
        "hidden",
    )
    assert substatus.allowed_in_config_files and substatus.description == "Sentry's substatus"
    url = document.component_type("sentry_issue").property("url")
    assert (url.locked, url.display_status, url.allowed_in_config_files, url.description) == (
        True,
        "visible",
        None,
        None,
    )
    rules = document.relationship_definitions[0].management_rules
    assert rules is not None
    assert (rules[0].source_property_builtin, rules[0].target_property_builtin) == (True, False)
    assert (rules[1].operator, rules[1].source_property_builtin, rules[1].target_type) == (
        "EQUALS",
        False,
        "sentry_issue",
    )
    with pytest.raises(KeyError, match="did you mean 'substatus'"):
        document.component_type("sentry_issue").property("substatu")
    with pytest.raises(KeyError, match="did you mean 'sentry_issue'"):
        document.component_type("sentry_isue")


def test_only_relationships_and_service_properties(write: Write) -> None:
    document = load_catalog(
        write(
            """\
            relationship_definitions:
            - alias: depends
              name: Depends
              component_type: service
              allowed_types: service          # one string is a one-item list
              description: ""
            """
        )
    )
    assert document.component_types == ()
    (relationship,) = document.relationship_definitions
    assert relationship.allowed_types == ("service",) and relationship.management_rules is None
    assert relationship.description == ""


def test_types_only_exist_in_opslevel_are_allowed_offline(write: Write) -> None:
    document = load_catalog(
        write(
            BASE.replace("allowed_types: [sentry_issue]", "allowed_types: [sentry_issue, team, incident]")
            .replace(
                "  - operator: ARRAY_CONTAINS\n",
                "  - operator: array_contains\n    target_type: sentry_issue\n",
            )
            .replace("  component_type: service\n", "  component_type: my_existing_type\n")
        )
    )
    relationship = document.relationship_definitions[0]
    assert relationship.component_type == "my_existing_type"
    assert relationship.allowed_types == ("sentry_issue", "team", "incident")
    assert relationship.management_rules is not None
    assert relationship.management_rules[0].operator == "ARRAY_CONTAINS"


def test_multi_document_file_is_merged(write: Write) -> None:
    head, tail = BASE.split("relationship_definitions:")
    document = load_catalog(write(f"{head}---\nrelationship_definitions:{tail}"))
    assert [r.alias for r in document.relationship_definitions] == ["sentry_issues"]


# ------------------------------------------------------------------------------------- caching


def test_cached_by_path_and_mtime(write: Write) -> None:
    path = write(BASE)
    first = load_catalog(path)
    assert load_catalog(path) is first
    assert load_catalog(str(path)) is first
    path.write_text(BASE.replace("name: Sentry Issue\n", "name: Sentry Issues Renamed\n"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_catalog(path)
    assert second is not first and second.component_types[0].name == "Sentry Issues Renamed"


def test_invalid_documents_are_not_cached(write: Write) -> None:
    path = write(BASE.replace("name: Sentry Issue\n", "nme: Sentry Issue\n"))
    for _ in range(2):
        with pytest.raises(ConfigError):
            load_catalog(path)


# ------------------------------------------------------------------------- validation problems


def test_unknown_key_names_file_line_item_and_suggests(write: Write) -> None:
    problem = one(
        problems(write, BASE.replace("    name: Substatus\n", "    nmae: Substatus\n")), "properties[1].nmae"
    )
    assert where(problem) == ("catalog.yaml", 9, "component_types", 0, "sentry_issue", "properties[1].nmae")
    assert problem.message == "unknown key 'nmae'; did you mean 'name'?"
    assert str(problem).endswith(
        "catalog.yaml:9: component_types[0] (sentry_issue) properties[1].nmae: unknown key 'nmae'; did you mean 'name'?"
    )


def test_unknown_keys_at_every_level(write: Write) -> None:
    text = (
        BASE.replace("component_types:", "component_type:")
        .replace("  name: Sentry Issues\n", "  name: Sentry Issues\n  allowed_type: [x]\n")
        .replace("    source_property: aliases\n", "    source_property: aliases\n    target_propety: x\n")
    )
    found = problems(write, text)
    assert (
        one(found, "component_type").message
        == "unknown key 'component_type'; did you mean 'component_types'?"
    )
    assert one(found, "allowed_type").message == "unknown key 'allowed_type'; did you mean 'allowed_types'?"
    rule = one(found, "management_rules[0].target_propety")
    assert where(rule)[1:5] == (24, "relationship_definitions", 0, "sentry_issues")
    assert rule.message == "unknown key 'target_propety'; did you mean 'target_property'?"


def test_hints_for_keys_of_other_documents_and_property_type(write: Write) -> None:
    found = problems(
        write,
        "transforms: []\n"
        + BASE.replace("    schema: {type: string}\n  - alias: url", "    type: string\n  - alias: url"),
    )
    assert "it belongs in the transform document" in one(found, "transforms").message
    assert one(found, "properties[1].type").message.startswith("unknown key 'type'; did you mean 'schema'?")
    assert one(found, "properties[1].schema").message == "missing required key 'schema'"


def test_bad_schema_points_inside_the_schema(write: Write) -> None:
    problem = one(problems(write, BASE.replace("      type: string\n", "      type: text\n")))
    assert where(problem) == (
        "catalog.yaml",
        14,
        "component_types",
        0,
        "sentry_issue",
        "properties[2].schema.type",
    )
    assert problem.message.startswith(
        "not a valid JSON Schema: 'text' is not valid under any of the given schemas"
    )


def test_schema_must_be_a_mapping_of_json_values(write: Write) -> None:
    found = problems(
        write,
        BASE.replace("    schema: {type: string}\n", "    schema: string\n").replace(
            "      type: string\n", "      type: string\n      default: 2024-01-01\n"
        ),
    )
    assert one(found, "properties[1].schema").message == "expected a JSON Schema (a mapping), got a string"
    assert where(one(found, "properties[2].schema.default"))[1] == 15
    assert "cannot be written in JSON" in one(found, "properties[2].schema.default").message


def test_untrusted_schema_parts_that_are_allowed(write: Write) -> None:
    """Local references, unambiguous patterns and 32 levels of nesting load unchanged."""
    allowed = {
        "$defs": {"slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}},
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/slug"},
            "b": {"type": "string", "pattern": "^([a-z0-9]+-)*[a-z0-9]+$"},
            "ip": {"type": "string", "pattern": "^(\\d{1,3}\\.){3}\\d{1,3}$"},
            "c": {"type": "string", "pattern": "^(x|xy)*z$"},
        },
        "patternProperties": {"^[A-Z]{2,4}-\\d+$": {"type": "string"}},
    }
    nested: dict[str, object] = {"type": "string"}
    for _ in range(MAX_SCHEMA_DEPTH - 2):  # with the innermost and the outer one: 32 levels
        nested = {"items": nested}
    text = BASE.replace("    schema: {type: string}\n", f"    schema: {json.dumps(allowed)}\n")
    text = text.replace("      type: string\n", f"      items: {json.dumps(nested)}\n      type: array\n")
    document = load_catalog(write(text))
    specs = document.component_type("sentry_issue")
    assert specs.property("substatus").schema == allowed
    assert specs.property("url").schema == {"items": nested, "type": "array"}


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("^(a+)+$", True),
        ("(a*)*b", True),
        ("(a|aa)+", True),
        ("^(.*a){12}", True),
        ("((ab)*)+", True),
        ("(foo|bar)+", False),
        ("^https?://", False),
        ("^(-[a-z]+)+$", False),
        ("^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$", False),
    ],
)
def test_pattern_backtracking_check(write: Write, pattern: str, refused: bool) -> None:
    text = BASE.replace(
        "    schema: {type: string}\n", f"    schema: {{type: string, pattern: '{pattern}'}}\n"
    )
    if not refused:
        assert (
            load_catalog(write(text)).component_type("sentry_issue").property("substatus").schema["pattern"]
            == pattern
        )
        return
    problem = one(problems(write, text))
    assert where(problem) == (
        "catalog.yaml",
        10,
        "component_types",
        0,
        "sentry_issue",
        "properties[1].schema.pattern",
    )
    assert problem.message.startswith(f"pattern '{pattern}' repeats a group that can match the same text")


def test_bad_operator(write: Write) -> None:
    problem = one(problems(write, BASE.replace("operator: ARRAY_CONTAINS", "operator: CONTAINS")))
    assert where(problem) == (
        "catalog.yaml",
        21,
        "relationship_definitions",
        0,
        "sentry_issues",
        "management_rules[0].operator",
    )
    assert (
        problem.message == "invalid value 'CONTAINS' for 'operator'; expected one of: ARRAY_CONTAINS, EQUALS"
    )


def test_duplicate_aliases_and_names(write: Write) -> None:
    text = BASE.replace("  - alias: url\n", "  - alias: substatus\n").replace(
        "relationship_definitions:",
        "- alias: sentry_issue\n  name: Sentry Issue\nrelationship_definitions:",
    )
    text += text[text.index("- alias: sentry_issues") :]
    found = problems(write, text)
    prop = one([p for p in found if p.location and p.location.index == 0], "properties[2].alias")
    assert where(prop)[1] == 11
    assert (
        prop.message
        == "duplicate property alias 'substatus'; this component type already declares it at line 8"
    )
    type_alias = one([p for p in found if p.location and p.location.section == "component_types"], "alias")
    assert where(type_alias)[1:5] == (15, "component_types", 1, "sentry_issue")
    assert "component_types[0] (line 2) already has it" in type_alias.message
    name = one([p for p in found if p.location and p.location.section == "component_types"], "name")
    assert "duplicate component type name 'Sentry Issue'" in name.message
    rel = one([p for p in found if p.location and p.location.section == "relationship_definitions"], "alias")
    assert where(rel)[1:4] == (26, "relationship_definitions", 1)
    assert "duplicate relationship definition alias 'sentry_issues'" in rel.message


def test_missing_and_mistyped_values(write: Write) -> None:
    text = (
        BASE.replace("  name: Sentry Issue\n", "")
        .replace("    name: URL\n", "    name: [URL]\n")
        .replace("  allowed_types: [sentry_issue]\n", "  allowed_types: []\n")
        .replace("  - alias: substatus\n", "  - alias: sub status\n    locked: yes please\n")
    )
    found = problems(write, text)
    assert one(found, "name").message == "missing required key 'name'"
    assert one(found, "properties[2].name").message == "expected a string, got a list"
    assert one(found, "allowed_types").message == "'allowed_types' must list at least one component type"
    assert one(found, "properties[1].alias").message == "alias 'sub status' must not contain whitespace"
    assert one(found, "properties[1].locked").message == "expected true or false, got a string"


def test_rule_target_type_rules(write: Write) -> None:
    found = problems(
        write,
        BASE.replace("allowed_types: [sentry_issue]", "allowed_types: [sentry_issue, team]")
        + "  - source_property: aliases\n    target_property: name\n    target_type: sentry_isue\n",
    )
    assert one(found, "management_rules[0].target_type").message == (
        "missing required key 'target_type' (allowed_types lists more than one type)"
    )
    wrong = one(found, "management_rules[1].target_type")
    assert where(wrong)[1] == 26
    assert wrong.message == (
        "target_type 'sentry_isue' is not in allowed_types (sentry_issue, team); did you mean 'sentry_issue'?"
    )


def test_custom_rule_property_must_be_declared_on_a_declared_type(write: Write) -> None:
    problem = one(
        problems(write, BASE.replace("target_property: project_slug", "target_property: project_slu"))
    )
    assert where(problem)[1:] == (
        23,
        "relationship_definitions",
        0,
        "sentry_issues",
        "management_rules[0].target_property",
    )
    assert problem.message == (
        "component type 'sentry_issue' declares no property 'project_slu' in this document; did you mean 'project_slug'?"
    )


def test_builtin_name_that_is_also_a_declared_property_needs_the_flag(write: Write) -> None:
    text = BASE.replace("  - alias: url\n", "  - alias: name\n").replace(
        "target_property: project_slug", "target_property: name"
    )
    problem = one(problems(write, text), "management_rules[0].target_property")
    assert "set target_property_builtin to true or false" in problem.message
    fixed = text.replace(
        "    target_property: name\n", "    target_property: name\n    target_property_builtin: false\n"
    )
    rules = load_catalog(write(fixed, "fixed.yaml")).relationship_definitions[0].management_rules
    assert rules is not None and rules[0].target_property_builtin is False


def test_counts_and_empty_file(write: Write) -> None:
    found = problems(
        write,
        BASE.replace("  name: Sentry Issues\n", "  name: Sentry Issues\n  min_items: 3\n  max_items: 1\n"),
    )
    assert one(found, "max_items").message == "max_items (1) is less than min_items (3)"
    assert one(problems(write, "# nothing\n")).message.startswith("the file is empty")
    assert "found neither" in one(problems(write, "{}\n")).message


def test_yaml_syntax_error_and_repeated_key(write: Write) -> None:
    assert "invalid YAML" in one(problems(write, "component_types: [\n")).message
    problem = one(
        problems(write, BASE.replace("  name: Sentry Issue\n", "  name: Sentry Issue\n  name: Again\n"))
    )
    assert where(problem)[1:] == (4, "component_types", 0, "sentry_issue", "name")
    assert problem.message == "key 'name' is given more than once (first at line 3)"


def test_every_problem_is_reported_at_once_and_pickles(write: Write) -> None:
    path = write(BASE.replace("operator: ARRAY_CONTAINS", "operator: X").replace("    name: URL\n", ""))
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    assert len(info.value.problems) == 2
    assert [p.location.line for p in info.value.problems if p.location] == sorted(
        p.location.line or 0 for p in info.value.problems if p.location
    )
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)


def test_catalog_setup_does_not_import_airflow() -> None:
    code = (
        "import sys, airflow_provider_opslevel.catalog_setup as c; "
        "c.load_catalog(sys.argv[1]); "
        "sys.exit(any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code, str(SHIPPED)], check=False).returncode == 0
