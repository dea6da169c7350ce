"""Shared by the template tests: a location in an extract file and a one-line render helper."""

from __future__ import annotations

from airflow_provider_opslevel.errors import Location
from airflow_provider_opslevel.templating import TemplateEngine

WHERE = Location("extract.yaml", 24, "extractors", 1, "sentry_issue", "http_polling.url")
SEED_URL = (
    "{% if cursor %}{{cursor}}{% else %}"
    "https://sentry.io/api/0/projects/opslevel/{{ sentry_project.id }}/issues/{% endif %}"
)


def render(engine: TemplateEngine, source: str, **context: object) -> str:
    return engine.compile(source).render(context)
