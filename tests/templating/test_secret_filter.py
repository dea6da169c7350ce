"""The ``secret`` filter: resolvers per render, errors, redaction of resolved values."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from templating_helpers import WHERE

from airflow_provider_opslevel.errors import TemplateError
from airflow_provider_opslevel.templating import TemplateEngine


def test_secret_filter_inside_larger_string(engine: TemplateEngine) -> None:
    template = engine.compile("Bearer {{ 'sentry_api_token' | secret }}")
    assert template.uses_secrets and template.secret_names == {"sentry_api_token"}
    assert template.uses_secrets and template.variables == frozenset()
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
