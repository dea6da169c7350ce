"""Paths and DAG files the operators' tests share."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "dags" / "sentry_issues"


def write_dag(dags_folder: Path, dag_id: str, body: str) -> None:
    """A DAG file of the example's documents, built with ``build_dag(dag_id, <body>)``."""
    (dags_folder / f"{dag_id}.py").write_text(
        "import os\n"
        "from pathlib import Path\n"
        "from airflow_provider_opslevel import build_dag\n"
        f"HERE = Path({str(EXAMPLE)!r})\n"
        f"dag = build_dag({dag_id!r}, extract=HERE / 'extract.yaml', transform=HERE / 'transform.yaml',\n"
        "    catalog=HERE / 'catalog.yaml',\n"
        "    rewrite_origins={'https://sentry.io': os.environ.get('SENTRY_URL', 'https://sentry.io')},\n"
        f"    {body})\n"
    )
