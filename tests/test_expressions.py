"""jq expressions: compile errors, evaluation, runtime errors, caching and threads."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from airflow_provider_opslevel.errors import ConfigError, ExpressionError, Location
from airflow_provider_opslevel.expressions import JqExpression, _compile, is_truthy

WHERE = Location("extract.yaml", 7, "extractors", 0, "sentry_project", "external_id")


def test_all_returns_every_output() -> None:
    assert JqExpression(".[] | .id").all([{"id": 1}, {"id": 2}]) == [1, 2]


def test_first_returns_first_output_or_default() -> None:
    assert JqExpression(".[]").first([3, 4]) == 3
    assert JqExpression(".[]").first([], default="none") == "none"
    assert JqExpression("empty").first({}) is None


def test_source_and_where_are_kept() -> None:
    expression = JqExpression(".id", WHERE)
    assert expression.source == ".id"
    assert expression.where == WHERE


def test_seed_expressions_evaluate() -> None:
    exclude = JqExpression('.name | test("production")')
    assert exclude.test({"name": "my-production-app"}) is True
    assert exclude.test({"name": "staging"}) is False
    cursor = JqExpression(
        'if .link.next.attributes.results == "true" then .link.next.target_url else null end'
    )

    def headers(results: str) -> dict[str, Any]:
        return {"link": {"next": {"target_url": "https://next", "attributes": {"results": results}}}}

    assert cursor.first(headers("true")) == "https://next"
    assert cursor.first(headers("false")) is None


def test_compile_error_names_location_and_jq_message() -> None:
    with pytest.raises(ConfigError) as info:
        JqExpression(".a |||", WHERE)
    (problem,) = info.value.problems
    assert problem.location == WHERE
    assert "invalid jq expression '.a |||'" in problem.message
    assert "syntax error" in problem.message
    assert str(info.value).startswith("extract.yaml:7: extractors[0] (sentry_project) external_id: ")
    assert "\n" not in str(info.value)  # jq's caret drawing is dropped: one line per problem


def test_undefined_function_is_a_compile_error() -> None:
    with pytest.raises(ConfigError, match="foo/0 is not defined"):
        JqExpression(".x | foo")


def test_empty_expression_is_rejected() -> None:
    with pytest.raises(ConfigError, match="empty"):
        JqExpression("  ", WHERE)


def test_runtime_error_names_location_expression_and_jq_message() -> None:
    expression = JqExpression(".a.b", WHERE)
    with pytest.raises(ExpressionError) as info:
        expression.all({"a": "text"})
    message = str(info.value)
    assert message.startswith("extract.yaml:7: extractors[0] (sentry_project) external_id: ")
    assert "'.a.b'" in message
    assert "Cannot index string" in message
    assert info.value.where == WHERE
    with pytest.raises(ExpressionError):
        expression.first({"a": "text"})


def test_non_json_input_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="not JSON"):
        JqExpression(".a | .").all({"a": object()})


def test_truthiness_follows_jq() -> None:
    assert not is_truthy(None) and not is_truthy(False)
    assert is_truthy(0) and is_truthy("") and is_truthy([])
    assert JqExpression("empty").test({}) is False


def test_compiled_programs_are_cached_by_source() -> None:
    before = _compile.cache_info().hits
    JqExpression(".cached_by_source")
    JqExpression(".cached_by_source")
    assert _compile.cache_info().hits > before


def test_equality_hash_and_pickle() -> None:
    assert JqExpression(".id") == JqExpression(".id")
    assert len({JqExpression(".id"), JqExpression(".id")}) == 1
    copy = pickle.loads(pickle.dumps(JqExpression(".id", WHERE)))
    assert copy.first({"id": 5}) == 5 and copy.where == WHERE


def test_one_expression_evaluated_from_many_threads() -> None:
    expression = JqExpression("[.items[] | select(.n % 3 == 0) | .n] | add")
    start = threading.Barrier(8)

    def work(offset: int) -> list[int]:
        start.wait()
        results = []
        for i in range(300):
            items = [{"n": n} for n in range(offset + i, offset + i + 30)]
            results.append(expression.first({"items": items}))
        return results

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(work, range(0, 800, 100)))
    for offset, results in zip(range(0, 800, 100), outputs, strict=True):
        for i, value in enumerate(results):
            assert value == sum(n for n in range(offset + i, offset + i + 30) if n % 3 == 0)


FAST_SOURCES = [".", " . ", ".id", ".project.slug", ".a.b.c", ".[]", " .[] "]
VALUES = [
    None,
    True,
    0,
    1.5,
    "text",
    [],
    [1, {"id": 2}],
    {},
    {"id": "7", "project": {"slug": "api"}},
    {"id": None, "project": None},
    {"project": {"slug": ["a", "b"]}, "a": {"b": {"c": 3}}},
    {"a": {"b": "not an object"}},
    {"a": [1, 2]},
]


@pytest.mark.parametrize("source", FAST_SOURCES)
def test_fast_paths_give_exactly_what_jq_gives(source):
    import jq

    from airflow_provider_opslevel.errors import ExpressionError
    from airflow_provider_opslevel.expressions import JqExpression

    expression = JqExpression(source)
    assert expression._fast is not None
    program = jq.compile(source)
    for value in VALUES:
        try:
            expected = program.input_value(value).all()
        except ValueError as error:
            with pytest.raises(ExpressionError) as raised:
                expression.all(value)
            assert str(error) in str(raised.value), (source, value)
            continue
        assert expression.all(value) == expected, (source, value)
        assert expression.first(value) == (expected[0] if expected else None)


def test_other_expressions_still_go_to_jq():
    from airflow_provider_opslevel.expressions import JqExpression

    for source in (".a[0]", ".a?", '.["a"]', ".a | length", ".a.b?", "..", ".a,.b"):
        assert JqExpression(source)._fast is None, source
