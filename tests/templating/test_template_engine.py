"""Compiling and rendering: strict variables, compile-time checks, locations, pickling."""

from __future__ import annotations

import pickle

import pytest
from templating_helpers import SEED_URL, WHERE

from airflow_provider_opslevel.errors import ConfigError, TemplateError
from airflow_provider_opslevel.templating import Template, TemplateEngine


def test_seed_url_first_page_and_next_page(engine: TemplateEngine) -> None:
    template = engine.compile(SEED_URL, WHERE, {"cursor", "sentry_project"})
    first = template.render({"cursor": "", "sentry_project": {"id": "42"}})
    assert first == "https://sentry.io/api/0/projects/opslevel/42/issues/"
    assert template.render({"cursor": "https://next", "sentry_project": {"id": "42"}}) == "https://next"
    assert template.variables == {"cursor", "sentry_project"}
    assert not template.uses_secrets


def test_plain_text_is_constant(engine: TemplateEngine) -> None:
    template = engine.compile("application/json")
    assert not template.uses_secrets and template.variables == frozenset()
    assert template.render({}) == "application/json"


def test_undefined_variable_is_an_error_not_empty(engine: TemplateEngine) -> None:
    template = engine.compile("{{ project.slug }}", WHERE)
    with pytest.raises(TemplateError) as info:
        template.render({})
    assert str(info.value).startswith(str(WHERE) + ": ")
    assert "'project' is undefined" in str(info.value)


def test_undefined_attribute_is_an_error(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match="has no attribute 'slug'"):
        engine.compile("{{ project.slug }}", WHERE).render({"project": {"id": 1}})


def test_strict_undefined_inside_if(engine: TemplateEngine) -> None:
    template = engine.compile("{% if cursor %}a{% else %}b{% endif %}", WHERE)
    assert template.render({"cursor": ""}) == "b"
    with pytest.raises(TemplateError, match="'cursor' is undefined"):
        template.render({})


def test_unknown_variable_at_compile_time_with_suggestion(engine: TemplateEngine) -> None:
    source = "{% if cursor %}{{ cursor }}{% else %}https://x/{{ sentry_projet.id }}{% endif %}"
    with pytest.raises(ConfigError) as info:
        engine.compile(source, WHERE, {"cursor", "sentry_project"})
    (problem,) = info.value.problems
    assert problem.location == WHERE
    assert problem.message == (
        "unknown variable 'sentry_projet'; available: cursor, sentry_project; did you mean 'sentry_project'?"
    )


def test_unknown_variable_line_inside_multiline_template(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError) as info:
        engine.compile("line1\n{{ cursor }}\n{{ oops }}", WHERE, {"cursor"})
    location = info.value.problems[0].location
    assert location is not None and location.line == 26


def test_names_none_skips_the_check(engine: TemplateEngine) -> None:
    assert engine.compile("{{ anything }}").variables == {"anything"}


def test_syntax_error_names_location_and_adjusted_line(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError) as info:
        engine.compile('{\n  "query": "{{ cursor | }}"\n}', WHERE)
    (problem,) = info.value.problems
    assert problem.location is not None
    assert problem.location.line == 25  # template line 2, written at line 24
    assert problem.location.key == "http_polling.url"
    assert problem.message.startswith("invalid template: ")


def test_unclosed_if_is_a_syntax_error(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError, match="invalid template: Unexpected end of template"):
        engine.compile("{% if cursor %}x", WHERE)


def test_unknown_filter_suggests_the_nearest(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError, match="No filter named 'upcasee'; did you mean 'upcase'"):
        engine.compile("{{ x | upcasee }}", WHERE)


def test_non_string_source_is_a_config_error(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError, match="expected a template string"):
        engine.compile(["x"], WHERE)  # type: ignore[arg-type]


def test_template_pickles_by_source(engine: TemplateEngine) -> None:
    template = engine.compile("a{{ cursor }}", WHERE)
    copy = pickle.loads(pickle.dumps(template))
    assert isinstance(copy, Template) and copy.where == WHERE and copy.render({"cursor": "b"}) == "ab"


def test_long_template_source_is_cut_in_errors(engine: TemplateEngine) -> None:
    source = "{{ nope }}" + "x" * 5000
    with pytest.raises(TemplateError) as info:
        engine.compile(source, WHERE).render({})
    assert len(str(info.value)) < 400 and "xxx..." in str(info.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{% if c %}{{ c | upcasee }}{% endif %}",
            "invalid template: No filter named 'upcasee'; did you mean 'upcase'?",
        ),
        (
            "{% for i in c %}{{ i is evn }}{% endfor %}",
            "invalid template: No test named 'evn'; did you mean 'even'?",
        ),
        ("{% macro m() %}{{ c | nope }}{% endmacro %}", "invalid template: No filter named 'nope'"),
        (
            "{% if c %}{% include 'x' %}{% endif %}",
            "invalid template: {% include %} is not supported: there are no other templates",
        ),
        (
            "{% if c %}{{ self }}{% endif %}",
            "invalid template: 'self' (the template's own blocks) is not available",
        ),
    ],
)
def test_errors_inside_branches_are_compile_errors(engine: TemplateEngine, source: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        engine.compile(source, WHERE, {"c"})
    (problem,) = info.value.problems
    assert problem.location == WHERE
    assert problem.message == message


def test_every_problem_in_a_template_is_reported_with_its_line(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError) as info:
        engine.compile("{% if c %}\n{{ c | nope }}\n{% else %}\n{{ c is nada }}{% endif %}", WHERE, {"c"})
    assert [(p.location.line if p.location else None, p.message) for p in info.value.problems] == [
        (25, "invalid template: No filter named 'nope'"),
        (27, "invalid template: No test named 'nada'"),
    ]


def test_without_a_location_the_template_line_is_in_the_message(engine: TemplateEngine) -> None:
    with pytest.raises(ConfigError, match=r"No filter named 'nope' \(template line 2\)"):
        engine.compile("a\n{% if c %}{{ c | nope }}{% endif %}")
