"""A push integration: CI posts each deploy to the webhook; the latest deploy of each service to
each environment is a `deploy` component, dropped 30 days after its last deploy.

The webhook is `POST <airflow>/opslevel/webhook/deploys?external_kind=deploy`, its secret the
password of the connection `opslevel_webhook_deploys` (README, "Push integrations").
"""

from pathlib import Path

from airflow_provider_opslevel import build_dag

HERE = Path(__file__).parent / "deploys"

dag = build_dag(
    "deploys",
    extract=HERE / "extract.yaml",
    transform=HERE / "transform.yaml",
    catalog=HERE / "catalog.yaml",  # the `deploy` component type and its properties
    push=True,
    # Every push is a run. The daily run expires what was not pushed for expires_after_days,
    # also on days without deploys.
    schedule="@daily",
    # Paused when new: pushes queue (202) and run once you unpause it.
    is_paused_upon_creation=True,
)
