"""Every exception catalog setup raises (each pickles round-trip: Airflow may pickle it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.errors import OpsLevelIntegrationError

if TYPE_CHECKING:
    from airflow_provider_opslevel.catalog_setup.report import EnsureReport

__all__ = ["CatalogSetupError"]


class CatalogSetupError(OpsLevelIntegrationError):
    """Ensuring the catalog failed: a check before writing, or a write OpsLevel refused.

    :param problems: one message per problem (each names the document item it is about).
    :param report: for a failed write, what was done before it (``None`` when nothing was written).
    """

    def __init__(self, problems: str | Iterable[str], report: EnsureReport | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.report = report
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.report))
