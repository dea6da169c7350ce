"""Mapped-task labels: which parent key names a parent, the override, and hostile names."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_opslevel.extract.labels import (
    MAX_NAME_CHARS,
    chunk_label,
    clean,
    label_keys,
    parent_name,
)


def parent(external_id: Any = "1", **data: Any) -> dict[str, Any]:
    """A record as extraction makes it: the item under ``data``."""
    return {"external_id": external_id, "data": data}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (parent(slug="backend-api", name="Backend API", key="BE", title="T"), "backend-api"),
        (parent(name="Backend API", key="BE", title="T"), "Backend API"),
        (parent(key="BE", title="T"), "BE"),
        (parent(title="Checkout"), "Checkout"),
        (parent("4509109104082945", id="4509109104082945"), "4509109104082945"),
        # A key that holds no text is passed over, not shown as "None", "3" or "".
        (parent(slug=None, name=3, key="", title="  \t ", other="y"), "1"),
        (parent(slug=["a"], name={"b": 1}, title="Real"), "Real"),
        # Only the item's top-level keys name it.
        (parent("7", project={"slug": "nested"}), "7"),
        ({"external_id": "8", "data": ["slug", "not", "a", "mapping"]}, "8"),
        ({"external_id": "9", "data": "slug"}, "9"),
    ],
)
def test_first_key_holding_text_names_the_parent(record, expected):
    assert parent_name(record) == expected


def test_a_label_lists_three_parents_then_how_many_more():
    records = [parent(str(i), slug=f"project-{i}") for i in range(10)]
    assert chunk_label("sentry_project", records[:2]) == "sentry_project project-0, project-1"
    assert chunk_label("sentry_project", records[:3]) == "sentry_project project-0, project-1, project-2"
    assert chunk_label("sentry_project", records) == "sentry_project project-0, project-1, project-2 +7"
    assert chunk_label("sentry_project", []) == "sentry_project (no parents)"


def test_the_override_names_parents_by_its_keys_in_order_then_the_id():
    records = [
        parent("1", slug="api", name="API", display="The API"),
        parent("2", slug="web", name="Web"),
        parent("3", slug="ops"),
    ]
    assert chunk_label("project", records, label_keys("name")) == "project API, Web, 3"
    keys = label_keys(["display", "name"])
    assert keys == ("display", "name")
    assert chunk_label("project", records, keys) == "project The API, Web, 3"


@pytest.mark.parametrize(
    "value", ["", "   ", 5, None, [], ["name", 3], ["name", ""], b"name", {"a": 1}, ["k"] * 17]
)
def test_an_override_that_names_no_key_is_refused_with_the_option_named(value):
    with pytest.raises(
        ValueError, match=r"^extract_options\['kid'\]\['parent_label_field'\] must be a top-level key"
    ):
        label_keys(value, where="extract_options['kid']['parent_label_field']")


def test_hostile_names_lose_control_and_format_characters_and_are_capped():
    hostile = parent(slug="evil\x1b[31m-red\x07\nline2\r\t\u202eright-to-left\u200b\x00\ud800\ue000")
    name = parent_name(hostile)
    assert name == "evil[31m-red line2 right-to-left"
    assert all(char.isprintable() for char in name)

    assert parent_name(parent(name="x" * 10_000)) == "x" * (MAX_NAME_CHARS - 1) + "…"
    # Only characters that show: a name made of nothing else falls back to the id.
    assert parent_name(parent("9", slug="\x00\u200b\u202e\n")) == "9"
    assert parent_name(parent("\x1b]0;pwned\x07" + "9" * 100)) == "]0;pwned" + "9" * 31 + "…"


def test_the_longest_label_fits_airflows_column():
    """Airflow stores a mapped task's name in a String(250) column; Postgres refuses longer ones."""
    records = [parent(name="\u00e9" * 500)] * 100_000
    label = chunk_label("k" * 300, records)
    assert len(label) < 180
    assert label.endswith(" +99997")


def test_clean_keeps_text_of_other_scripts():
    assert clean("  Équipe  Платёж  支付 ", 40) == "Équipe Платёж 支付"
