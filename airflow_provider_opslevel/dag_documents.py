"""The documents of one integration's tasks: resolved against the DAG file and validated at parse time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_opslevel.catalog_setup import load_catalog
from airflow_provider_opslevel.config import Integration, load_integration
from airflow_provider_opslevel.errors import ConfigError


def resolve(path: str | os.PathLike[str], base: Path) -> str:
    """``path`` as an absolute path; a relative one is taken from ``base`` (the DAG file's folder)."""
    candidate = Path(path)
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


@dataclass(frozen=True)
class IntegrationDocuments:
    """An integration's extract, transform and catalog documents, loaded and checked together.

    :param extract: absolute path of the extract document.
    :param transform: absolute path of the transform document.
    :param catalog: absolute path of the catalog document, if any.
    :param integration: both documents, validated.
    :param kinds: the extractors the tasks run: the push ones or the polling ones.
    """

    extract: str
    transform: str
    catalog: str | None
    integration: Integration
    kinds: list[str]

    @classmethod
    def load(
        cls,
        extract: str | os.PathLike[str],
        transform: str | os.PathLike[str],
        catalog: str | os.PathLike[str] | None,
        *,
        base: Path,
        push: bool,
    ) -> IntegrationDocuments:
        """Read and validate every document; a mistake is a ConfigError naming file, line and key.

        :param extract: the extract document's path.
        :param transform: the transform document's path (may be the extract document).
        :param catalog: the catalog document's path, or ``None``.
        :param base: where relative paths start (the calling DAG file's folder).
        :param push: run the push extractors (else the polling ones).
        """
        extract_path, transform_path = resolve(extract, base), resolve(transform, base)
        integration = load_integration(extract_path, transform_path)
        catalog_path = resolve(catalog, base) if catalog is not None else None
        if catalog_path is not None:
            load_catalog(catalog_path)  # validated at parse time like the other two documents
        kinds = [e.external_kind for e in integration.ordered() if e.is_push == push]
        if not kinds:
            wanted, other = ("push", "push=False") if push else ("polling", "push=True")
            raise ConfigError.single(
                integration.extractors[0].where,
                f"no {wanted} extractor in this document; build the DAG of the others with build_dag(..., {other})",
            )
        return cls(extract_path, transform_path, catalog_path, integration, kinds)

    def doc_md(self) -> str:
        """The DAG's (or group's) documentation: which documents and kinds."""
        return "\n".join(
            [
                "OpsLevel custom integration.\n",
                f"* extract: `{self.extract}`",
                f"* transform: `{self.transform}`",
                *([f"* catalog: `{self.catalog}`"] if self.catalog else []),
                f"* kinds: {', '.join(e.external_kind for e in self.integration.ordered())}",
            ]
        )
