"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_opslevel import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-opslevel",
        "name": "OpsLevel",
        "description": "Run OpsLevel-style custom integrations (extract + transform YAML) as Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "OpsLevel",
                "external-doc-url": "https://docs.opslevel.com/docs/custom-integrations",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "OpsLevel",
                "python-modules": [
                    "airflow_provider_opslevel.operators.extract",
                    "airflow_provider_opslevel.operators.transform",
                ],
            }
        ],
        "hooks": [
            {"integration-name": "OpsLevel", "python-modules": ["airflow_provider_opslevel.hooks.opslevel"]}
        ],
        "plugins": [
            {
                "name": "opslevel_webhook",
                "plugin-class": "airflow_provider_opslevel.webhook.plugin.OpsLevelWebhookPlugin",
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_opslevel.hooks.opslevel.OpsLevelHook",
                "hook-name": "OpsLevel",
                "connection-type": "opslevel",
                "conn-fields": {
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "description": "How long one GraphQL request may take before it fails.",
                        "schema": {"type": ["number", "null"], "default": 60, "minimum": 1},
                    },
                    "requests_per_minute": {
                        "label": "Requests per minute",
                        "description": "Client-side pace for this token (OpsLevel allows 400 per minute).",
                        "schema": {"type": ["integer", "null"], "default": 400, "minimum": 1},
                    },
                    "batch_size": {
                        "label": "Mutations per request",
                        "description": "How many writes go into one GraphQL request.",
                        "schema": {"type": ["integer", "null"], "default": 50, "minimum": 1, "maximum": 250},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port", "extra"],
                    "relabeling": {"host": "API base URL", "password": "API token"},
                    "placeholders": {"host": "https://app.opslevel.com"},
                },
            }
        ],
    }
