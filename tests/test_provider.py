"""The provider as Airflow sees it: entry point, metadata schema, connection form, CLI listing."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema

from airflow_provider_opslevel.get_provider_info import get_provider_info

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def test_entry_point_points_at_get_provider_info():
    (entry,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_opslevel")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_matches_airflows_provider_schema():
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_connection_form_is_declarative_and_relabels_host_and_password():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours["opslevel"]
    assert behaviour["relabeling"] == {"host": "API base URL", "password": "API token"}
    assert behaviour["placeholders"]["host"] == "https://app.opslevel.com"
    assert set(behaviour["hidden_fields"]) == {"schema", "login", "port", "extra"}
    assert manager.connection_form_widgets["extra__opslevel__timeout"].field["value"] == 60


def test_airflow_cli_lists_the_provider_and_its_hook(airflow_db):
    providers = json.loads(
        subprocess.run(
            [AIRFLOW, "providers", "list", "-o", "json"], capture_output=True, check=True, text=True
        ).stdout
    )
    assert any(p["package_name"] == "airflow-provider-opslevel" for p in providers)
    hooks = json.loads(
        subprocess.run(
            [AIRFLOW, "providers", "hooks", "-o", "json"], capture_output=True, check=True, text=True
        ).stdout
    )
    (hook,) = [h for h in hooks if h["connection_type"] == "opslevel"]
    assert hook["class"] == "airflow_provider_opslevel.hooks.opslevel.OpsLevelHook"
