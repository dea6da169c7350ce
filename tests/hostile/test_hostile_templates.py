"""Hostile templates: every one is stopped, in bounded time and memory, with an error naming where.

Each case compiles and renders one template in a worker thread (as the extract tasks do) and
asserts the exact outcome: the error type, its location (``file:line: item key``, the line being
the template line that failed), a fragment of its message, that it took under 5 s, that the
process's peak memory grew by under 100 MB, and that a canary secret in the environment appears
in no output or error. Deadline cases run with a 0.5 s limit so the corpus stays quick;
``tests/templating/test_template_limits.py`` checks the real default.
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import pytest

from airflow_provider_opslevel.errors import ConfigError, Location, TemplateError
from airflow_provider_opslevel.templating import TemplateEngine
from airflow_provider_opslevel.templating import limits as template_limits

CANARY = "s3cret-canary-7f3a"
WHERE = Location("extract.yaml", 40, "extractors", 2, "sentry_issue", "http_polling.body")
NAMES = frozenset({"cursor", "sentry_project"})
CONTEXT: dict[str, Any] = {"cursor": "https://next", "sentry_project": {"id": "42", "slug": "web"}}
MAX_SECONDS = 5.0
MAX_EXTRA_MB = 100.0
TIME_LIMIT = 0.5


class Case(NamedTuple):
    source: str
    error: type[Exception]
    fragment: str
    line: int = 1  # template line the error points at
    key: str = "http_polling.body"
    context: dict[str, Any] = CONTEXT


LIMIT = "over the limit of 1,048,576"
SANDBOX = "tried an operation the sandbox forbids: access to attribute"
SLOW = f"stopped: template ran longer than the limit of {TIME_LIMIT:g} s"
DOUBLING = "\n".join(["{% set x = 'x' * 1000 %}", *["{% set x = x ~ x %}"] * 11, "{{ x }}"])

CASES: dict[str, Case] = {
    # --- time: loops and recursion that emit nothing still stop at the deadline
    "nested-range-loops": Case(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        TemplateError,
        SLOW,
    ),
    "loop-with-filter-test": Case(
        "{% for i in range(100000) %}{% for j in range(100000) if j is odd %}{% endfor %}{% endfor %}",
        TemplateError,
        SLOW,
    ),
    "macro-fan-out-recursion": Case(
        "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(64) }}",
        TemplateError,
        SLOW,
    ),
    "set-block-of-nested-loops": Case(
        "{% set x %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        "{% endset %}",
        TemplateError,
        SLOW,
    ),
    "infinite-macro-recursion": Case(
        "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
        TemplateError,
        "stopped: macros nested too deeply",
    ),
    # --- size: refused before the big value is allocated
    "string-times-huge": Case(
        "{{ 'x' * 100000000 }}", TemplateError, f"'*': 100,000,000 characters, {LIMIT}"
    ),
    "center-filter": Case(
        "{{ 'x' | center(100000000) }}", TemplateError, f"the center filter: 100,000,000 characters, {LIMIT}"
    ),
    "printf-width": Case("{{ '%999999999d' % 1 }}", TemplateError, f"'%': 1,000,000,011 characters, {LIMIT}"),
    "printf-star-width": Case(
        "{{ '%*d' % (999999999, 1) }}", TemplateError, "'*' widths in '%' formats are not allowed"
    ),
    "printf-mapping-reuse": Case(
        "{{ ('%(a)s' * 100) % {'a': 'x' * 100000} }}", TemplateError, f"'%': 10,001,200 characters, {LIMIT}"
    ),
    "format-method-width": Case(
        "{{ '{:>999999999}'.format(1) }}", TemplateError, f"str.format: 1,000,000,025 characters, {LIMIT}"
    ),
    "format-nested-spec": Case(
        "{{ '{:{}}'.format(1, 999999999) }}", TemplateError, "nested fields in a format spec are not allowed"
    ),
    "format-filter-width": Case(
        "{{ '%999999999s' | format('x') }}",
        TemplateError,
        f"the format filter: 1,000,000,015 characters, {LIMIT}",
    ),
    "replace-amplification": Case(
        "{% set a = 'x' * 2000 %}{{ a | replace('x', a) }}",
        TemplateError,
        f"the replace filter: 4,000,000 characters, {LIMIT}",
    ),
    "liquid-replace-empty-needle": Case(
        "{% assign a = 'x' * 600000 %}{{ a | replace: '', 'yy' }}",
        TemplateError,
        f"the replace filter: 1,800,002 characters, {LIMIT}",
    ),
    "set-doubling": Case(DOUBLING, TemplateError, f"'~': 2,048,000 characters, {LIMIT}", line=12),
    "liquid-append-doubling": Case(
        "{% assign a = 'x' * 600000 %}{{ a | append: a }}",
        TemplateError,
        f"the append filter: 1,200,000 characters, {LIMIT}",
    ),
    "power-of-big-numbers": Case(
        "{{ 3 ** 100000000 }}", TemplateError, "'**': a 158,496,251-bit number, over the limit of 4,096 bits"
    ),
    "times-of-big-numbers": Case(
        "{% assign n = 10 ** 1000 %}{{ n | times: n }}",
        TemplateError,
        "the times filter: a 6,644-bit number, over the limit of 4,096 bits",
    ),
    "indent-width": Case(
        "{{ 'a\nb' | indent(100000000) }}",
        TemplateError,
        f"the indent filter: 200,000,003 characters, {LIMIT}",
        line=2,  # the expression ends on the template's second line
    ),
    "wordwrap-wrapstring": Case(
        "{{ ('x ' * 1000) | wordwrap(1, wrapstring='y' * 100000) }}", TemplateError, "the wordwrap filter: "
    ),
    "batch-fill": Case(
        "{{ [1] | batch(100000000, 'x') | list }}",
        TemplateError,
        "the batch or slice filter: 100,000,000 items, over the limit of 100,000",
    ),
    "slice-count": Case(
        "{{ [1] | slice(100000000) | list }}", TemplateError, "the batch or slice filter: 100,000,000 items"
    ),
    "join-separator": Case(
        "{{ range(100000) | join('x' * 20) }}",
        TemplateError,
        f"the join filter: 1,048,602 characters, {LIMIT}",
    ),
    "str-join-of-generator": Case(
        "{{ ('x' * 100).join(range(100000) | map('string')) }}",
        TemplateError,
        f"str.join: 10,688,892 characters, {LIMIT}",
    ),
    "ljust-method": Case(
        "{{ 'x'.ljust(100000000) }}", TemplateError, f"str.ljust: 100,000,000 characters, {LIMIT}"
    ),
    "expandtabs-method": Case(
        "{{ ('\t' * 100000).expandtabs(1000) }}",
        TemplateError,
        f"str.expandtabs: 100,000,000 characters, {LIMIT}",
    ),
    "quadratic-codec": Case(
        "{{ ('\u4e00' * 100000).encode('punycode') }}",
        TemplateError,
        "stopped: the 'punycode' codec is not allowed in templates",
    ),
    "int-to-bytes": Case(
        "{{ (1).to_bytes(100000000, 'big') }}",
        TemplateError,
        f"int.to_bytes: 100,000,000 characters, {LIMIT}",
    ),
    "list-times-huge": Case(
        "{{ [1] * 100000000 }}", TemplateError, "'*': 100,000,000 items, over the limit of 100,000"
    ),
    "printing-shared-nested-lists": Case(
        "{% set a = ['x' * 1000000] %}{% set b = [a, a, a, a] %}{{ [b, b, b, b, b] }}",
        TemplateError,
        f"printed value: 2,000,030 characters, {LIMIT}",
    ),
    "output-accumulation": Case(
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        TemplateError,
        "template produced more than 16,777,216 characters in one render (at output)",
    ),
    "autoescape-concat": Case(
        "{% autoescape true %}{% set a = 'x' * 1000000 %}{{ a ~ a }}{% endautoescape %}",
        TemplateError,
        f"'~': 2,000,000 characters, {LIMIT}",
    ),
    # --- rendered results: size caps per key, in UTF-8 bytes
    "url-over-8-kib": Case(
        "{{ 'x' * 9000 }}",
        TemplateError,
        "rendered http_polling.url is 9,000 bytes, over the limit of 8,192 bytes",
        key="http_polling.url",
    ),
    "header-from-hostile-api": Case(
        "Bearer {{ cursor }}",
        TemplateError,
        "rendered http_polling.headers[0].value is 20,007 bytes, over the limit of 8,192 bytes",
        key="http_polling.headers[0].value",
        context={"cursor": "c" * 20000},
    ),
    "body-non-ascii-bytes": Case(
        "{{ cursor }}",
        TemplateError,
        "rendered http_polling.body is 1,200,000 bytes, over the limit of 1,048,576 bytes",
        context={"cursor": "é" * 600000},
    ),
    # --- no way out of the sandbox, nothing from the environment
    "class-of-variable": Case("{{ cursor.__class__ }}", TemplateError, f"{SANDBOX} '__class__' of 'str'"),
    "mro-of-literal": Case("{{ ''.__class__.__mro__ }}", TemplateError, f"{SANDBOX} '__class__' of 'str'"),
    "attr-filter": Case("{{ cursor | attr('__class__') }}", TemplateError, f"{SANDBOX} '__class__' of 'str'"),
    "range-globals": Case("{{ range.__globals__ }}", TemplateError, f"{SANDBOX} '__globals__' of 'function'"),
    "format-field-attribute": Case(
        "{{ '{0.__class__}'.format(cursor) }}", TemplateError, f"{SANDBOX} '__class__' of 'str'"
    ),
    "init-globals-os-environ": Case(
        "{{ sentry_project.__init__.__globals__['os'].environ }}",
        TemplateError,
        f"{SANDBOX} '__init__' of 'dict'",
    ),
    "self": Case(
        "{{ self }}", ConfigError, "invalid template: 'self' (the template's own blocks) is not available"
    ),
    "lipsum": Case(
        "{{ lipsum(1) }}", ConfigError, "unknown variable 'lipsum'; available: cursor, sentry_project"
    ),
    "cycler": Case("{{ cycler('a').next() }}", ConfigError, "unknown variable 'cycler'"),
    "joiner": Case("{{ joiner(',')() }}", ConfigError, "unknown variable 'joiner'"),
    "namespace": Case("{% set ns = namespace(x=1) %}{{ ns.x }}", ConfigError, "unknown variable 'namespace'"),
    "dict": Case("{{ dict(a=1) }}", ConfigError, "unknown variable 'dict'"),
    "include": Case(
        "{% include 'secrets.txt' %}",
        ConfigError,
        "{% include %} is not supported: there are no other templates",
    ),
    "import": Case("x\n{% import 'env' as env %}", ConfigError, "{% import %} is not supported", line=2),
    "from-import": Case("{% from 'env' import os %}", ConfigError, "{% from ... import %} is not supported"),
    "extends": Case("{% extends '/etc/passwd' %}", ConfigError, "{% extends %} is not supported"),
    "urlize-removed": Case(
        "{{ cursor | urlize }}", ConfigError, "invalid template: No filter named 'urlize'"
    ),
    # --- errors inside branches are compile-time errors, exactly like outside
    "unknown-filter-in-if": Case(
        "{% if cursor %}\n{{ cursor | upcasee }}{% endif %}",
        ConfigError,
        "invalid template: No filter named 'upcasee'; did you mean 'upcase'?",
        line=2,
    ),
    "unknown-test-in-for-else": Case(
        "{% for i in sentry_project %}{% else %}{% if cursor is strng %}x{% endif %}{% endfor %}",
        ConfigError,
        "invalid template: No test named 'strng'; did you mean 'string'?",
    ),
    "unknown-filter-in-macro": Case(
        "{% macro m() %}{{ cursor | secrett }}{% endmacro %}",
        ConfigError,
        "invalid template: No filter named 'secrett'; did you mean 'secret'?",
    ),
    "unknown-variable-in-else": Case(
        "{% if cursor %}{{ cursor }}{% else %}\n\n{{ sentry_projet.id }}{% endif %}",
        ConfigError,
        "unknown variable 'sentry_projet'; available: cursor, sentry_project; did you mean 'sentry_project'?",
        line=3,
    ),
    "unknown-filter-block": Case(
        "{% if cursor %}{% filter shout %}x{% endfilter %}{% endif %}",
        ConfigError,
        "invalid template: No filter named 'shout'",
    ),
}


@pytest.fixture(scope="module")
def engine() -> TemplateEngine:
    return TemplateEngine()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _compile_and_render(engine: TemplateEngine, case: Case) -> str:
    where = WHERE.with_key(case.key)
    return engine.compile(case.source, where, NAMES).render(case.context)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_template(engine: TemplateEngine, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    case = CASES[name]
    monkeypatch.setenv("AIRFLOW_CONN_CANARY", f"postgres://user:{CANARY}@db/x")
    monkeypatch.setenv("OPSLEVEL_TOKEN", CANARY)
    monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", TIME_LIMIT)
    before = _peak_mb()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(case.error) as info:
        pool.submit(_compile_and_render, engine, case).result()
    elapsed = time.monotonic() - started
    error = info.value
    location = WHERE.with_key(case.key, WHERE.line + case.line - 1)  # type: ignore[operator]
    if isinstance(error, ConfigError):
        (problem,) = error.problems
        assert problem.location == location
        assert case.fragment in problem.message
    else:
        assert isinstance(error, TemplateError)
        assert error.where == location
        assert case.fragment in error.detail
    assert str(error).startswith(f"{location}: ")
    assert CANARY not in str(error)
    assert elapsed < MAX_SECONDS
    assert _peak_mb() - before < MAX_EXTRA_MB


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 22
