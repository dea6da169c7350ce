"""The Liquid -> Jinja rewrite: elsif, unless, assign, contains, nil, colon filter arguments."""

from __future__ import annotations

import pytest
from templating_helpers import render

from airflow_provider_opslevel.templating import TemplateEngine, liquid_to_jinja


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
