"""Liquid-compatible templates: syntax, strictness, secrets, compile-time checks."""

from __future__ import annotations

import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_opslevel import template_limits as limits
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


# --------------------------------------------------------------------------- limits


def test_default_deadline_stops_a_silent_loop_in_a_worker_thread(engine: TemplateEngine) -> None:
    template = engine.compile(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", WHERE
    )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(TemplateError) as info:
        pool.submit(template.render, {}).result()
    elapsed = time.monotonic() - started
    assert limits.MAX_RENDER_SECONDS == 2.0
    assert limits.MAX_RENDER_SECONDS <= elapsed < 5
    assert info.value.where == WHERE
    assert info.value.detail.endswith("stopped: template ran longer than the limit of 2 s")


def test_time_in_the_secret_resolver_does_not_count(
    engine: TemplateEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.2)

    def slow_backend(name: str) -> str:
        time.sleep(0.4)
        return "tok"

    template = engine.compile("{% for i in range(3) %}{{ 'a' | secret }}{% endfor %}")
    assert template.render({}, slow_backend) == "toktoktok"
    with pytest.raises(TemplateError, match=r"longer than the limit of 0\.2 s"):
        engine.compile(
            "{{ 'a' | secret }}{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% endfor %}{% endfor %}"
        ).render({}, slow_backend)


@pytest.mark.parametrize(
    ("key", "cap"),
    [
        ("http_polling.url", limits.MAX_URL_BYTES),
        ("token_url", limits.MAX_URL_BYTES),
        ("http_polling.headers[3].value", limits.MAX_HEADER_BYTES),
        ("http_polling.body", limits.MAX_BODY_BYTES),
        ("client_secret", limits.MAX_BODY_BYTES),
        (None, limits.MAX_BODY_BYTES),
    ],
)
def test_rendered_size_caps_by_key(engine: TemplateEngine, key: str | None, cap: int) -> None:
    where = WHERE.with_key(key)
    template = engine.compile("{{ v }}", where)
    assert template.render({"v": "x" * cap}) == "x" * cap
    with pytest.raises(TemplateError) as info:
        template.render({"v": "é" * (cap // 2 + 1)})  # two UTF-8 bytes each: counted in bytes
    assert info.value.where == where
    assert info.value.detail == (
        f"rendered {key or 'template'} is {cap + 2:,} bytes, over the limit of {cap:,} bytes"
    )


def test_documented_limit_values() -> None:
    assert (limits.MAX_URL_BYTES, limits.MAX_HEADER_BYTES, limits.MAX_BODY_BYTES) == (8192, 8192, 1 << 20)
    assert (limits.MAX_VALUE_CHARS, limits.MAX_RENDER_CHARS) == (1 << 20, 16 << 20)
    assert (limits.MAX_ITEMS, limits.MAX_INT_BITS) == (100_000, 4096)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '%05d|%-3s|%.2f' % (7, 'a', 1.5) }}", "00007|a  |1.50"),
        ("{{ '{:>5}|{name}'.format(1, name='n') }}", "    1|n"),
        ("{{ '{a}'.format_map({'a': 2}) }}", "2"),
        ("{{ 'ab' * 3 }}{{ 2 ** 10 }}{{ 3 * 4 }}{{ [1] + [2] }}{{ 'a' ~ 1 }}", "ababab102412[1, 2]a1"),
        ("{{ 'x'.ljust(3, '.') }}{{ 'a\tb'.expandtabs(2) }}{{ '-'.join(['a', 'b']) }}", "x..a b" + "a-b"),
        (
            "{{ 'ab' | center(6) }}|{{ 'a\nb' | indent(2) }}|{{ 'aa bb' | wordwrap(2) }}",
            "  ab  |a\n  b|aa\nbb",
        ),
        (
            "{{ [1, 2, 3] | batch(2, 0) | list }}{{ [1, 2, 3] | slice(2) | list }}",
            "[[1, 2], [3, 0]][[1, 2], [3]]",
        ),
        ("{{ '%s-%s' | format('a', 'b') }}{{ 'aXa' | replace('a', 'bb') }}", "a-bbbXbb"),
        ("{{ range(3) | map('string') | join(',') }}{{ 'a,b'.split(',') | join }}", "0,1,2a b"),
        ("{{ 10 | times: 3 }} {{ 2 ** 4000 > 0 }}", "30 true"),
        ("{% for i in range(3) %}{% if loop.last %}{{ i }}{% endif %}{% endfor %}", "2"),
    ],
)
def test_guarded_operations_keep_working_at_normal_sizes(
    engine: TemplateEngine, source: str, expected: str
) -> None:
    assert render(engine, source) == expected


def test_limit_error_names_the_template_line(engine: TemplateEngine) -> None:
    template = engine.compile("first\nsecond\n{{ 'x' * 100000000 }}\n", WHERE)
    with pytest.raises(TemplateError) as info:
        template.render({})
    assert info.value.where == WHERE.with_key(WHERE.key, 26)
    assert str(info.value).startswith("extract.yaml:26: extractors[1] (sentry_issue) http_polling.url: ")
    assert "'*': 100,000,000 characters, over the limit of 1,048,576" in info.value.detail


def test_long_template_source_is_cut_in_errors(engine: TemplateEngine) -> None:
    source = "{{ nope }}" + "x" * 5000
    with pytest.raises(TemplateError) as info:
        engine.compile(source, WHERE).render({})
    assert len(str(info.value)) < 400 and "xxx..." in str(info.value)


def test_filters_are_not_run_at_compile_time(engine: TemplateEngine) -> None:
    # Jinja folds constant expressions while compiling; a hostile one must not run at DAG-parse time.
    started = time.monotonic()
    template = engine.compile("{{ 'x' | center(100000000) }}{{ 'x' * 100000000 }}", WHERE)
    assert time.monotonic() - started < 1
    with pytest.raises(TemplateError, match="the center filter: 100,000,000 characters"):
        template.render({})


def test_weight_stops_counting_past_its_limit() -> None:
    shared = ["x" * 1000] * 1000
    huge = [shared] * 1000  # a billion characters once printed, built from a few references
    started = time.monotonic()
    assert limits.weight(huge) > limits.MAX_VALUE_CHARS
    assert time.monotonic() - started < 0.5
    assert limits.weight({"a": [1, "bc"], "d": None}) < 100


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


def test_only_range_is_a_global(engine: TemplateEngine) -> None:
    assert render(engine, "{{ range(2) | list }}") == "[0, 1]"
    for name in ("lipsum", "cycler", "joiner", "namespace", "dict"):
        with pytest.raises(TemplateError, match=f"'{name}' is undefined"):
            render(engine, f"{{{{ {name}() }}}}")
