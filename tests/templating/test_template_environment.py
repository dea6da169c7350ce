"""The sandboxed environment: unsafe access refused, only ``range`` as a global."""

from __future__ import annotations

import pytest
from templating_helpers import render

from airflow_provider_opslevel.errors import TemplateError
from airflow_provider_opslevel.templating import TemplateEngine


def test_sandbox_blocks_unsafe_access(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match="sandbox"):
        engine.compile("{{ x.__class__.__mro__ }}").render({"x": ""})
    with pytest.raises(TemplateError):
        engine.compile("{{ items.append(4) }}").render({"items": [1]})


def test_only_range_is_a_global(engine: TemplateEngine) -> None:
    assert render(engine, "{{ range(2) | list }}") == "[0, 1]"
    for name in ("lipsum", "cycler", "joiner", "namespace", "dict"):
        with pytest.raises(TemplateError, match=f"'{name}' is undefined"):
            render(engine, f"{{{{ {name}() }}}}")
