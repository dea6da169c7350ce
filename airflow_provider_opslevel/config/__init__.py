"""Load and validate OpsLevel-style extract/transform YAML into typed, compiled models.

Nothing here imports Airflow. Start with :func:`load_integration`.
"""

from airflow_provider_opslevel.config.integration import Integration
from airflow_provider_opslevel.config.loader import clear_cache, load_integration
from airflow_provider_opslevel.config.models import (
    DefaultProperties,
    Extractor,
    Header,
    HttpPolling,
    NextCursor,
    OAuth,
    Transform,
)

__all__ = [
    "DefaultProperties",
    "Extractor",
    "Header",
    "HttpPolling",
    "Integration",
    "NextCursor",
    "OAuth",
    "Transform",
    "clear_cache",
    "load_integration",
]
