"""Errors of the transform step: a record that cannot be mapped, a sync that did not finish clean."""

from __future__ import annotations

from airflow_provider_opslevel.errors import LocatedError, OpsLevelIntegrationError


class SyncFailed(OpsLevelIntegrationError):
    """The sync wrote what it could, but something was not read, mapped or written."""


class MappingError(LocatedError):
    """A value a transform key gave cannot be used (``where``: that key, once known)."""
