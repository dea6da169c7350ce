"""Liquid-compatible templates: syntax, strictness, secrets, compile-time checks."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_opslevel.errors import ConfigError, Location, TemplateError
from airflow_provider_opslevel.templating import Template, TemplateEngine, liquid_to_jinja

WHERE = Location("extract.yaml", 24, "extractors", 1, "sentry_issue", "http_polling.url")
SEED_URL = (
    "{% if cursor %}{{cursor}}{% else %}"
    "https://sentry.io/api/0/projects/opslevel/{{ sentry_project.id }}/issues/{% endif %}"
)


@pytest.fixture(scope="module")
def engine() -> TemplateEngine:
    return TemplateEngine()


def render(engine: TemplateEngine, source: str, **context: object) -> str:
    return engine.compile(source).render(context)


def test_seed_url_first_page_and_next_page(engine: TemplateEngine) -> None:
    template = engine.compile(SEED_URL, WHERE, {"cursor", "sentry_project"})
    first = template.render({"cursor": "", "sentry_project": {"id": "42"}})
    assert first == "https://sentry.io/api/0/projects/opslevel/42/issues/"
    assert template.render({"cursor": "https://next", "sentry_project": {"id": "42"}}) == "https://next"
    assert template.variables == {"cursor", "sentry_project"}
    assert not template.uses_secrets and not template.is_constant


def test_plain_text_is_constant(engine: TemplateEngine) -> None:
    template = engine.compile("application/json")
    assert template.is_constant and template.variables == frozenset()
    assert template.render({}) == "application/json"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ x | default: "a" }}', "a"),
        ('{{ "v" | default: "a" }}', "v"),
        ('{{ s | replace: "a", "b" }}', "bbc"),
        ("{{ s | upcase }}-{{ s | downcase | capitalize }}", "AAC-Aac"),
        ('{{ s | append: "!" | prepend: "<" }}', "<aac!"),
        ('{{ s | remove: "a" }}', "c"),
        ("{{ padded | strip }}", "p"),
        ("{{ items | size }} {{ s | size }}", "3 3"),
        ('{{ items | join: ", " }}|{{ items | join }}', "1, 2, 3|1 2 3"),
        ("{{ items | first }}{{ items | last }}", "13"),
        ("{{ q | url_encode }}", "a+b%40c%2Fd"),
        ('{{ "a+b%40c" | url_decode }}', "a b@c"),
        ("{{ obj | json }}", '{"k": [1, null]}'),
        ('{{ items | join("-") }}', "1-2-3"),
        ("{{ s | length }}", "3"),
        ("{{ 7 | divided_by: 2 }} {{ 2 | plus: 3 }}", "3 5"),
        ("{{ 'u:p' | base64_encode }}", "dTpw"),
        ("{{ none_value }}{{ flag }}", "true"),
        ("{{ obj.k.size }} {{ items.first }} {{ items.last }}", "2 1 3"),
        ("{{ page.items }}", "from-key"),
        ('{{ s | replace: "|", ":" }}', "aac"),
        ('{{ "a:b|c" | replace: "|", ":" }}', "a:b:c"),
    ],
)
def test_liquid_filters_and_values(engine: TemplateEngine, source: str, expected: str) -> None:
    context = {
        "x": "",
        "s": "aac",
        "padded": "  p \n",
        "items": [1, 2, 3],
        "q": "a b@c/d",
        "obj": {"k": [1, None]},
        "none_value": None,
        "flag": True,
        "page": {"items": "from-key"},
    }
    assert engine.compile(source).render(context) == expected


@pytest.mark.parametrize(
    ("cursor", "kind", "expected"),
    [("c", "", "cursor"), ("", "a", "a"), ("", "b", "b"), ("", "z", "other")],
)
def test_elsif_and_elif(engine: TemplateEngine, cursor: str, kind: str, expected: str) -> None:
    liquid = '{% if cursor %}cursor{% elsif kind == "a" %}a{% elif kind == "b" %}b{% else %}other{% endif %}'
    assert render(engine, liquid, cursor=cursor, kind=kind) == expected


def test_unless_assign_contains_and_nil(engine: TemplateEngine) -> None:
    source = (
        "{% assign n = name | upcase %}{% unless cursor %}first {{ n }}{% else %}next{% endunless %}"
        '{% if tags contains "prod" %} prod{% endif %}{% if missing == nil %} nil{% endif %}'
    )
    assert render(engine, source, cursor="", name="x", tags=["prod"], missing=None) == "first X prod nil"


def test_rewrite_keeps_strings_raw_blocks_and_newlines() -> None:
    source = '{{ "a | b: c" | append: "}}" }}\n{% raw %}{{ x | y: z }}{% endraw %}\n{%- elsif a -%}'
    translated = liquid_to_jinja(source)
    assert translated.startswith('{{ "a | b: c" | append("}}") }}')
    assert "{% raw %}{{ x | y: z }}{% endraw %}" in translated
    assert translated.endswith("{%- elif a -%}")
    assert translated.count("\n") == source.count("\n")


def test_keyword_filter_arguments(engine: TemplateEngine) -> None:
    assert render(engine, "{{ flag | default: 'd', allow_false: true }}", flag=False) == "false"
    assert render(engine, "{{ flag | default: 'd' }}", flag=False) == "d"


def test_trailing_newline_and_no_autoescape(engine: TemplateEngine) -> None:
    assert render(engine, "{{ v }}\n", v="<a&b>") == "<a&b>\n"


def test_secret_filter_inside_larger_string(engine: TemplateEngine) -> None:
    template = engine.compile("Bearer {{ 'sentry_api_token' | secret }}")
    assert template.uses_secrets and template.secret_names == {"sentry_api_token"}
    assert not template.is_constant and template.variables == frozenset()
    asked: list[str] = []

    def resolver(name: str) -> str:
        asked.append(name)
        return "s3cr3t"

    assert template.render({}, resolver) == "Bearer s3cr3t"
    assert asked == ["sentry_api_token"]


def test_secret_without_resolver_is_a_template_error(engine: TemplateEngine) -> None:
    template = engine.compile("Bearer {{ 'tok' | secret }}", WHERE)
    with pytest.raises(TemplateError) as info:
        template.render({})
    assert info.value.where == WHERE
    assert "'tok'" in str(info.value) and "no secret resolver" in str(info.value)


def test_resolver_exception_propagates_unchanged(engine: TemplateEngine) -> None:
    class MissingConnection(Exception):
        pass

    def resolver(name: str) -> str:
        raise MissingConnection(f"connection {name!r} is not defined")

    with pytest.raises(MissingConnection, match="connection 'tok' is not defined"):
        engine.compile("{{ 'tok' | secret }}").render({}, resolver)


def test_secret_values_are_redacted_from_errors(engine: TemplateEngine) -> None:
    template = engine.compile("{{ 'tok' | secret | plus: 1 }}", WHERE)
    with pytest.raises(TemplateError) as info:
        template.render({}, lambda name: "hunter2hunter2")
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


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


def test_sandbox_blocks_unsafe_access(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match="sandbox"):
        engine.compile("{{ x.__class__.__mro__ }}").render({"x": ""})
    with pytest.raises(TemplateError):
        engine.compile("{{ items.append(4) }}").render({"items": [1]})


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


def test_render_from_many_threads_keeps_resolvers_apart(engine: TemplateEngine) -> None:
    template = engine.compile("{{ n }}:{{ 'tok' | secret }}")
    barrier = threading.Barrier(6)

    def work(n: int) -> set[str]:
        def resolver(name: str) -> str:
            return f"s{n}"

        barrier.wait()
        return {template.render({"n": n}, resolver) for _ in range(200)}

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(work, range(6)))
    assert results == [{f"{n}:s{n}"} for n in range(6)]
