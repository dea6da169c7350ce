"""The Airflow internals the tests read, in one place, for every supported Airflow (3.1 to 3.3).

Tests use ``airflow.sdk`` and the other public APIs where those can answer; what only Airflow's
internals can tell (the metadata DB's rows, parsing a folder as the dag-processor does, the
connection form the UI receives) is imported here, once, with the version that moved it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import airflow

# The metadata DB's rows after ``dag.test()``: task instance states, XCom values and asset events
# are what the tests assert on, and the REST API needs a running api-server to show them.
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel

# The plugins every Airflow process loads, as `airflow plugins` lists them.
from airflow.plugins_manager import get_plugin_info

# The masker a task's log goes through: the tests check a secret is hidden where a task logs it.
from airflow.sdk._shared.secrets_masker import redact

# The Params a task of a DAG resolves for a run's conf (what a run with that conf would see),
# without running the DAG.
from airflow.sdk.definitions.param import process_params
from airflow.settings import Session
from packaging.version import Version

AIRFLOW_VERSION = Version(airflow.__version__)

# DagBag: a DAG file's import errors and its DAGs exactly as the dag-processor sees them (the
# Task SDK has no parser of its own). 3.2 moved it to dag_processing; 3.3 warns on the old path.
if AIRFLOW_VERSION >= Version("3.2"):
    from airflow.dag_processing.dagbag import DagBag
else:
    from airflow.models.dagbag import DagBag

# A DAG as the api-server and the scheduler read it back from the metadata DB. 3.2 added
# DagSerialization for the round trip; 3.1 has it on SerializedDAG.
if AIRFLOW_VERSION >= Version("3.2"):
    from airflow.serialization.serialized_objects import DagSerialization as _DagSerialization
else:
    from airflow.serialization.serialized_objects import SerializedDAG as _DagSerialization

# `airflow connections test` exits 1 when the test fails from 3.3 on; before, it prints the
# failure and exits 0.
CONNECTIONS_TEST_FAILED_EXIT_CODE = 1 if AIRFLOW_VERSION >= Version("3.3") else 0

__all__ = [
    "AIRFLOW_VERSION",
    "CONNECTIONS_TEST_FAILED_EXIT_CODE",
    "AssetDagRunQueue",
    "AssetEvent",
    "AssetModel",
    "DagBag",
    "Session",
    "TaskInstance",
    "XComModel",
    "connection_form",
    "plugin_names",
    "process_params",
    "redact",
    "serialized_dag",
    "sync_dags_folder",
]

# Run in a child interpreter: on 3.1 and 3.2 the hook_meta service puts stand-ins for wtforms and
# flask_appbuilder into sys.modules (when they are not installed) and leaves them there.
_HOOK_META = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
    forms = [m.model_dump(mode="json") for m in HookMetaService.hook_meta_data()]
(form,) = [f for f in forms if f["connection_type"] == sys.argv[1]]
form["warnings"] = [str(w.message) for w in caught]
print(json.dumps(form))
"""


def connection_form(conn_type: str) -> dict[str, Any]:
    """The connection form of ``conn_type`` as the UI receives it (``GET /ui/connections/hook_meta``):
    ``standard_fields`` (hidden, title, placeholder), ``extra_fields`` (by name, Param-shaped), plus
    ``warnings``, the text of every warning raised while Airflow built the forms.

    :param conn_type: the connection type, e.g. ``opslevel``.
    """
    child = subprocess.run(
        [sys.executable, "-c", _HOOK_META, conn_type], capture_output=True, text=True, check=True
    )
    return dict(json.loads(child.stdout.splitlines()[-1]))


def sync_dags_folder() -> None:
    """Write the DAGs folder's DAGs to the metadata DB, as a dag-processor would.

    ``dag.test()`` does it itself from Airflow 3.3 on. Before, it synced the folder only on the
    first test of a DAG id (apache/airflow#64884), so a DAG written after that (one scheduled on
    the tested DAG's assets, say) stayed unknown; ``airflow dags reserialize`` writes it.
    """
    if AIRFLOW_VERSION < Version("3.3"):
        airflow_cli = os.path.join(os.path.dirname(sys.executable), "airflow")
        subprocess.run([airflow_cli, "dags", "reserialize"], capture_output=True, check=True)


def serialized_dag(dag: Any) -> Any:
    """``dag`` serialized and read back, as the api-server and the scheduler see it.

    :param dag: a DAG defined with ``airflow.sdk``.
    """
    return _DagSerialization.from_dict(_DagSerialization.to_dict(dag))


def plugin_names() -> list[str]:
    """The names of the plugins Airflow loaded (entry points, provider info, plugins folder)."""
    return [str(plugin["name"]) for plugin in get_plugin_info()]
