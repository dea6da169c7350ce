"""Render limits: the deadline, the rendered size caps by key, the documented values."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from templating_helpers import WHERE

from airflow_provider_opslevel.errors import TemplateError
from airflow_provider_opslevel.templating import TemplateEngine, limits


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


def test_limit_error_names_the_template_line(engine: TemplateEngine) -> None:
    template = engine.compile("first\nsecond\n{{ 'x' * 100000000 }}\n", WHERE)
    with pytest.raises(TemplateError) as info:
        template.render({})
    assert info.value.where == WHERE.with_key(WHERE.key, 26)
    assert str(info.value).startswith("extract.yaml:26: extractors[1] (sentry_issue) http_polling.url: ")
    assert "'*': 100,000,000 characters, over the limit of 1,048,576" in info.value.detail
