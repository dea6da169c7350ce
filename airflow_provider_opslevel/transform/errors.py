"""Errors of the transform step: a record that cannot be mapped, a sync that did not finish clean."""

from __future__ import annotations

from typing import Any

from airflow_provider_opslevel.errors import Location, OpsLevelIntegrationError


class SyncFailed(OpsLevelIntegrationError):
    """The sync wrote what it could, but something was not read, mapped or written."""


class MappingError(OpsLevelIntegrationError):
    """A value a transform key gave cannot be used (``where``: that key, once known)."""

    def __init__(self, message: str, where: Location | None = None) -> None:
        self.where = where
        self.detail = message
        super().__init__(message if where is None else f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.detail, self.where))
