"""Errors inside a render; :class:`~airflow_provider_opslevel.errors.TemplateError` is what leaves it."""

from __future__ import annotations


class LimitExceeded(Exception):
    """A template went past one of this module's limits; the message says which and by how much."""


class SecretUsageError(Exception):
    """The ``secret`` filter was misused; becomes a TemplateError with the template's location."""
