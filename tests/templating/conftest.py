"""The engine shared by the template tests (engines are cheap, but compiled code is cached per engine)."""

from __future__ import annotations

import pytest

from airflow_provider_opslevel.templating import TemplateEngine


@pytest.fixture(scope="module")
def engine() -> TemplateEngine:
    return TemplateEngine()
