"""Every validation rule: each problem names file, line, item, kind, key and a clear message."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from airflow_provider_opslevel.config import load_integration
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem, Location, NotSupportedYetError

TRANSFORM = """\
transforms:
- external_kind: project
  opslevel_kind: service
  opslevel_identifier: .slug
  on_component_not_found: skip
"""

EXTRACT = """\
extractors:
- external_kind: project
  external_id: .id
  http_polling:
    url: https://example.com/projects
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(
    tmp_path: Path, extract: str = EXTRACT, transform: str = TRANSFORM, error: type[ConfigError] = ConfigError
) -> list[ConfigProblem]:
    extract_path = write(tmp_path, "extract.yaml", extract)
    transform_path = write(tmp_path, "transform.yaml", transform)
    with pytest.raises(error) as info:
        load_integration(extract_path, transform_path)
    assert type(info.value) is error
    return info.value.problems


def one(found: list[ConfigProblem], key: str | None = None) -> ConfigProblem:
    matching = [p for p in found if p.location is not None and (key is None or p.location.key == key)]
    assert len(matching) == 1, found
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


def test_baseline_is_valid(tmp_path: Path) -> None:
    integration = load_integration(write(tmp_path, "e.yaml", EXTRACT), write(tmp_path, "t.yaml", TRANSFORM))
    extractor = integration.extractor("project")
    assert extractor.iterator.source == "." and extractor.http_polling is not None
    assert extractor.http_polling.method == "GET" and extractor.http_polling.next_cursor is None


# ----------------------------------------------------------------------------- unknown keys


def test_unknown_extractor_key_suggests_nearest(tmp_path: Path) -> None:
    extract = EXTRACT.replace("  external_id: .id\n", "  external_id: .id\n  extenal_id: .id\n")
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 4, "extractors", 0, "project", "extenal_id")
    assert problem.message == "unknown key 'extenal_id'; did you mean 'external_id'?"
    assert str(problem) == (
        f"{tmp_path / 'extract.yaml'}:4: extractors[0] (project) extenal_id: "
        "unknown key 'extenal_id'; did you mean 'external_id'?"
    )


def test_unknown_http_polling_key(tmp_path: Path) -> None:
    extract = EXTRACT + "    metod: POST\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.metod")
    assert problem.message == "unknown key 'metod'; did you mean 'method'?"


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + "  zzz: 1\n"))
    assert problem.message == "unknown key 'zzz'"


def test_unknown_default_property_suggests_nearest(tmp_path: Path) -> None:
    transform = TRANSFORM + "  default_properties:\n    name: .name\n    lifecyle: .stage\n"
    problem = one(problems(tmp_path, transform=transform))
    assert where(problem) == ("transform.yaml", 8, "transforms", 0, "project", "default_properties.lifecyle")
    assert problem.message == "unknown key 'lifecyle'; did you mean 'lifecycle'?"


def test_unknown_top_level_key_and_misplaced_document(tmp_path: Path) -> None:
    found = problems(tmp_path, EXTRACT + "transforms: []\n")
    problem = one(found)
    assert where(problem) == ("extract.yaml", 6, None, None, None, "transforms")
    assert problem.message == "unknown key 'transforms'; it belongs in the transform document, not this one"


def test_repeated_key(tmp_path: Path) -> None:
    extract = EXTRACT + "    url: https://other\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.url")
    assert problem.message == "key 'url' is given more than once (first at line 5)"


# ----------------------------------------------------------------------------- types


def test_headers_as_mapping_is_a_type_error(tmp_path: Path) -> None:
    extract = EXTRACT + "    headers:\n      Accept: application/json\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 7, "extractors", 0, "project", "http_polling.headers")
    assert problem.message.startswith("expected a list, got a mapping")


def test_jq_given_as_list(tmp_path: Path) -> None:
    extract = EXTRACT.replace("external_id: .id", "external_id: [.id]")
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 3, "extractors", 0, "project", "external_id")
    assert problem.message == "expected a jq expression (a string), got a list"


def test_extractors_not_a_list(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, "extractors:\n  external_kind: a\n"))
    assert where(problem) == ("extract.yaml", 2, None, None, None, "extractors")
    assert problem.message == "expected a list, got a mapping"


def test_extractor_item_not_a_mapping(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + "- just a string\n"))
    assert where(problem) == ("extract.yaml", 6, "extractors", 1, None, None)
    assert problem.message == "expected a mapping, got a string"


def test_expected_a_string(tmp_path: Path) -> None:
    transform = TRANSFORM.replace("opslevel_kind: service", "opslevel_kind: {a: 1}")
    problem = one(problems(tmp_path, transform=transform))
    assert where(problem) == ("transform.yaml", 3, "transforms", 0, "project", "opslevel_kind")
    assert problem.message == "expected a string, got a mapping"


def test_yaml_scalars_count_as_the_text_written(tmp_path: Path) -> None:
    extract = (
        EXTRACT
        + "    headers:\n    - name: X-Flag\n      value: true\n    - name: X-Num\n      value: 1.50\n"
    )
    integration = load_integration(write(tmp_path, "e.yaml", extract), write(tmp_path, "t.yaml", TRANSFORM))
    polling = integration.extractor("project").http_polling
    assert polling is not None
    assert [h.value.render({"cursor": ""}) for h in polling.headers] == ["true", "1.50"]


def test_empty_external_kind(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT.replace("external_kind: project", 'external_kind: ""')))
    assert problem.message == "'external_kind' is empty"


# ----------------------------------------------------------------------------- required keys


def test_missing_external_id(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT.replace("  external_id: .id\n", "")))
    assert where(problem) == ("extract.yaml", 2, "extractors", 0, "project", "external_id")
    assert problem.message == "missing required key 'external_id'"


def test_missing_url_and_cursor_value(tmp_path: Path) -> None:
    extract = EXTRACT.replace(
        "    url: https://example.com/projects\n", "    next_cursor:\n      from: payload\n"
    )
    found = problems(tmp_path, extract)
    assert one(found, "http_polling.url").message == "missing required key 'url'"
    assert where(one(found, "http_polling.url"))[1] == 5
    cursor = one(found, "http_polling.next_cursor.value")
    assert where(cursor) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.next_cursor.value")
    assert cursor.message == "missing required key 'value'"


def test_missing_transform_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, transform="transforms:\n- external_kind: project\n")
    keys = sorted(p.location.key for p in found if p.location and p.location.key)
    assert keys == ["on_component_not_found", "opslevel_identifier", "opslevel_kind"]
    assert all(where(p)[:5] == ("transform.yaml", 2, "transforms", 0, "project") for p in found)


def test_missing_top_level_list(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, transform="{}\n"))
    assert where(problem) == ("transform.yaml", 1, None, None, None, "transforms")
    assert problem.message == "missing required key 'transforms'"


def test_null_value_for_required_key(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT.replace("external_id: .id", "external_id:")))
    assert where(problem)[1:] == (3, "extractors", 0, "project", "external_id")
    assert problem.message == "'external_id' has no value"


def test_empty_file_and_empty_extractors(tmp_path: Path) -> None:
    assert one(problems(tmp_path, "")).message.startswith("the file is empty")
    assert (
        one(problems(tmp_path, "extractors: []\n")).message == "extractors must list at least one extractor"
    )


# ----------------------------------------------------------------------------- enums


def test_invalid_method_names_the_allowed_ones(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + "    method: PUT\n"))
    assert where(problem) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.method")
    assert problem.message == "invalid value 'PUT' for 'method'; expected one of: GET, POST"


def test_method_is_case_insensitive_and_post_takes_a_body(tmp_path: Path) -> None:
    extract = EXTRACT + '    method: post\n    body: \'{"after": "{{ cursor }}"}\'\n'
    integration = load_integration(write(tmp_path, "e.yaml", extract), write(tmp_path, "t.yaml", TRANSFORM))
    polling = integration.extractor("project").http_polling
    assert polling is not None and polling.method == "POST"
    assert polling.body is not None and polling.body.render({"cursor": "c1"}) == '{"after": "c1"}'


def test_body_with_get_is_an_error(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + "    body: '{}'\n"))
    assert where(problem) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.body")
    assert problem.message == "body is only allowed with method POST"


def test_invalid_on_component_not_found(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, transform=TRANSFORM.replace(": skip", ": crate")))
    assert where(problem) == ("transform.yaml", 5, "transforms", 0, "project", "on_component_not_found")
    assert problem.message == (
        "invalid value 'crate' for 'on_component_not_found'; expected one of: create, skip, suggest"
    )


def test_invalid_next_cursor_from(tmp_path: Path) -> None:
    extract = EXTRACT + "    next_cursor:\n      from: body\n      value: .next\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 7, "extractors", 0, "project", "http_polling.next_cursor.from")
    assert problem.message == "invalid value 'body' for 'from'; expected one of: header, payload"


# ----------------------------------------------------------------------------- jq and templates


def test_jq_compile_error_carries_jqs_message(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT.replace("external_id: .id", 'external_id: ".id |"')))
    assert where(problem) == ("extract.yaml", 3, "extractors", 0, "project", "external_id")
    assert problem.message.startswith("invalid jq expression '.id |': syntax error, unexpected end of file")


def test_jq_errors_in_properties_aliases_and_cursor(tmp_path: Path) -> None:
    transform = TRANSFORM + "  properties:\n    tier: .tier[\n  aliases:\n  - .name\n  - .x |\n"
    found = problems(tmp_path, transform=transform)
    assert where(one(found, "properties.tier"))[1] == 7
    assert where(one(found, "aliases[1]"))[1] == 10
    extract = EXTRACT + "    next_cursor:\n      from: payload\n      value: nope(\n"
    cursor = one(problems(tmp_path, extract), "http_polling.next_cursor.value")
    assert where(cursor)[1] == 8 and "invalid jq expression 'nope('" in cursor.message


def test_template_syntax_error_line_inside_block_scalar(tmp_path: Path) -> None:
    extract = EXTRACT.replace(
        "    url: https://example.com/projects\n",
        "    url: |-\n      https://example.com/\n      {% if cursor %}{{ cursor }}\n      more\n",
    )
    problem = one(problems(tmp_path, extract))
    assert where(problem)[2:] == ("extractors", 0, "project", "http_polling.url")
    assert where(problem)[1] in (7, 8)  # inside the block, not at the "url:" line
    assert problem.message.startswith("invalid template: ")


def test_unknown_template_variable_suggests_parent(tmp_path: Path) -> None:
    extract = EXTRACT + (
        "- external_kind: issue\n"
        "  external_id: .id\n"
        "  http_polling:\n"
        "    for_each: project\n"
        "    url: https://example.com/{{ projet.slug }}/issues\n"
    )
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 10, "extractors", 1, "issue", "http_polling.url")
    assert problem.message == "unknown variable 'projet'; available: cursor, project; did you mean 'project'?"


def test_root_extractor_cannot_read_other_kinds(tmp_path: Path) -> None:
    extract = EXTRACT + "    headers:\n    - name: X-Project\n      value: '{{ project.id }}'\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 8, "extractors", 0, "project", "http_polling.headers[0].value")
    assert problem.message == "unknown variable 'project'; available: cursor"


def test_header_needs_name_and_value(tmp_path: Path) -> None:
    extract = EXTRACT + "    headers:\n    - name: Accept\n    - value: x\n      nmae: y\n"
    found = problems(tmp_path, extract)
    assert one(found, "http_polling.headers[0].value").message == "missing required key 'value'"
    assert one(found, "http_polling.headers[1].name").message == "missing required key 'name'"
    assert one(found, "http_polling.headers[1].nmae").message == "unknown key 'nmae'; did you mean 'name'?"


# ----------------------------------------------------------------------------- for_each and kinds


CHILD = """\
- external_kind: issue
  external_id: .id
  http_polling:
    for_each: {parent}
    url: "https://example.com/{{{{ cursor }}}}"
"""


def test_for_each_unknown_kind_suggests(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + CHILD.format(parent="projects")))
    assert where(problem) == ("extract.yaml", 9, "extractors", 1, "issue", "http_polling.for_each")
    assert problem.message == "for_each names unknown external_kind 'projects'; did you mean 'project'?"


def test_for_each_cycle_is_named(tmp_path: Path) -> None:
    extract = EXTRACT.replace("  http_polling:\n", "  http_polling:\n    for_each: issue\n") + CHILD.format(
        parent="project"
    )
    problem = one(problems(tmp_path, extract))
    assert where(problem) == ("extract.yaml", 5, "extractors", 0, "project", "http_polling.for_each")
    assert problem.message == "for_each forms a cycle: project → issue → project"


def test_for_each_itself_is_a_cycle(tmp_path: Path) -> None:
    problem = one(
        problems(tmp_path, EXTRACT.replace("  http_polling:\n", "  http_polling:\n    for_each: project\n"))
    )
    assert problem.message == "for_each forms a cycle: project → project"


def test_duplicate_external_kind(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + EXTRACT.removeprefix("extractors:\n")))
    assert where(problem) == ("extract.yaml", 6, "extractors", 1, "project", "external_kind")
    assert problem.message == "duplicate external_kind 'project'; extractors[0] (line 2) already has it"


def test_transform_for_unknown_kind_suggests(tmp_path: Path) -> None:
    problem = one(
        problems(tmp_path, transform=TRANSFORM.replace("external_kind: project", "external_kind: projet"))
    )
    assert where(problem) == ("transform.yaml", 2, "transforms", 0, "projet", "external_kind")
    assert problem.message == "no extractor produces external_kind 'projet'; did you mean 'project'?"


# ----------------------------------------------------------------------------- push-only keys


def test_expires_after_days_on_polling_extractor(tmp_path: Path) -> None:
    problem = one(
        problems(tmp_path, EXTRACT.replace("  http_polling:\n", "  expires_after_days: 3\n  http_polling:\n"))
    )
    assert where(problem) == ("extract.yaml", 4, "extractors", 0, "project", "expires_after_days")
    assert problem.message.startswith("expires_after_days applies only to push integrations")


def test_expires_after_days_on_push_extractor(tmp_path: Path) -> None:
    extract = EXTRACT + "- external_kind: deploy\n  external_id: .id\n  expires_after_days: 30\n"
    transform = TRANSFORM.replace("project", "deploy")
    integration = load_integration(write(tmp_path, "e.yaml", extract), write(tmp_path, "t.yaml", transform))
    deploy = integration.extractor("deploy")
    assert deploy.is_push and deploy.expires_after_days == 30 and deploy.http_polling is None


@pytest.mark.parametrize(
    ("value", "message"), [("0", "must be a positive integer, got 0"), ("soon", "expected an integer")]
)
def test_expires_after_days_must_be_positive_int(tmp_path: Path, value: str, message: str) -> None:
    extract = f"extractors:\n- external_kind: project\n  external_id: .id\n  expires_after_days: {value}\n"
    problem = one(problems(tmp_path, extract))
    assert where(problem)[1:] == (4, "extractors", 0, "project", "expires_after_days")
    assert message in problem.message


# ----------------------------------------------------------------------------- not supported yet


OAUTH = """\
oauth:
  grant_type: client_credentials
  token_url: https://auth.example.com/oauth/token
  client_id: "{{ 'client_id' | secret }}"
  client_secret: "{{ 'client_secret' | secret }}"
  extra_params: { audience: example-api }
"""


def test_invalid_oauth_is_a_config_error_listing_both(tmp_path: Path) -> None:
    bad = OAUTH.replace("client_credentials", "password").replace("token_url", "token_uri")
    found = problems(tmp_path, EXTRACT + bad)
    grant = one(found, "grant_type")
    assert where(grant)[2:] == ("oauth", None, None, "grant_type")
    assert "expected one of: client_credentials" in grant.message
    assert one(found, "token_uri").message == "unknown key 'token_uri'; did you mean 'token_url'?"


def test_rate_limit_is_not_supported_yet(tmp_path: Path) -> None:
    problem = one(
        problems(tmp_path, EXTRACT + "    rate_limit:\n      retry_after: 10\n", error=NotSupportedYetError)
    )
    assert where(problem) == ("extract.yaml", 6, "extractors", 0, "project", "http_polling.rate_limit")
    assert problem.message == "rate_limit is not supported yet"


# ----------------------------------------------------------------------------- reporting


def test_all_problems_are_collected_and_sorted(tmp_path: Path) -> None:
    extract = EXTRACT.replace("external_id: .id", "external_id: .id |") + "    method: PUT\n  zzz: 1\n"
    transform = TRANSFORM.replace(": skip", ": maybe")
    extract_path = write(tmp_path, "extract.yaml", extract)
    transform_path = write(tmp_path, "transform.yaml", transform)
    with pytest.raises(ConfigError) as info:
        load_integration(extract_path, transform_path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems) == 4
    assert [p.location.line for p in info.value.problems if p.location] == [3, 6, 7, 5]
    assert lines[0].startswith(f"{extract_path}:3: ") and lines[3].startswith(f"{transform_path}:5: ")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    problem = one(problems(tmp_path, EXTRACT + "    headers: [a\n  bad: : x\n"))
    assert where(problem)[:2] == ("extract.yaml", 7)
    assert problem.message.startswith("invalid YAML: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_integration(tmp_path / "nope.yaml", write(tmp_path, "t.yaml", TRANSFORM))


def test_config_error_pickles_and_location_formats() -> None:
    error = ConfigError([ConfigProblem(Location("x.yaml", 3, "extractors", 1, "k", "a.b"), "bad")])
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == "x.yaml:3: extractors[1] (k) a.b: bad"
    assert str(Location("x.yaml")) == "x.yaml"
    assert str(Location("x.yaml", 2, key="oauth")) == "x.yaml:2: oauth"
    assert isinstance(
        pickle.loads(pickle.dumps(NotSupportedYetError.single(None, "n"))), NotSupportedYetError
    )
