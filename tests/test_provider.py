"""The provider as Airflow sees it: entry point, metadata schema, connection form, CLI listing."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
from airflow_compat import connection_form

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


def test_connection_form_has_the_opslevel_fields_on_this_airflow():
    # 3.2+ read the declarative conn-fields, 3.1 the hook's methods: the UI gets the same form.
    form = connection_form("opslevel")
    standard = form["standard_fields"]
    assert (standard["host"]["title"], standard["host"]["placeholder"]) == (
        "API base URL",
        "https://app.opslevel.com",
    )
    assert standard["password"]["title"] == "API token"
    hidden = {name for name, field in standard.items() if field and field["hidden"]}
    assert hidden == {"url_schema", "login", "port"}
    extras = {
        name: (field["schema"]["title"], field["value"]) for name, field in form["extra_fields"].items()
    }
    assert extras == {
        "timeout": ("Read timeout (seconds)", 60),
        "requests_per_minute": ("Requests per minute", 400),
        "batch_size": ("Mutations per request", 50),
    }
    # 3.2+ warn about hooks whose form comes from get_connection_form_widgets(): ours is declarative.
    assert [w for w in form["warnings"] if "OpsLevelHook" in w] == []


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
