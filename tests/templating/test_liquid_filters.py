"""Liquid's filters and printing (nil, booleans, JSON keys over dict methods)."""

from __future__ import annotations

import pytest
from templating_helpers import render

from airflow_provider_opslevel.templating import TemplateEngine


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


def test_trailing_newline_and_no_autoescape(engine: TemplateEngine) -> None:
    assert render(engine, "{{ v }}\n", v="<a&b>") == "<a&b>\n"
