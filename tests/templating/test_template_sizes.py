"""Size checks: guarded operations at normal sizes, nothing run at compile time, ``weight``."""

from __future__ import annotations

import time

import pytest
from templating_helpers import WHERE, render

from airflow_provider_opslevel.errors import TemplateError
from airflow_provider_opslevel.templating import TemplateEngine, limits, sizes


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


def test_filters_are_not_run_at_compile_time(engine: TemplateEngine) -> None:
    # Jinja folds constant expressions while compiling; a hostile one must not run at DAG-parse time.
    started = time.monotonic()
    template = engine.compile("{{ 'x' | center(100000000) }}{{ 'x' * 100000000 }}", WHERE)
    assert time.monotonic() - started < 1
    with pytest.raises(TemplateError, match="the center filter: 100,000,000 characters"):
        template.render({})


def test_weight_stops_counting_past_its_limit() -> None:
    shared = ["x" * 1000] * 1000
    huge = [[shared] * 1000] * 1000  # a billion strings, built from a few references
    started = time.monotonic()
    assert sizes.weight(huge) > limits.MAX_VALUE_CHARS
    assert time.monotonic() - started < 5  # walking all of it would take many minutes
    assert sizes.weight({"a": [1, "bc"], "d": None}) < 100
