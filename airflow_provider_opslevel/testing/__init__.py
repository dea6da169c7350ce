"""Test fakes: a fake Sentry and a fake OpsLevel, each a real HTTP server on 127.0.0.1.

``FakeOpsLevel`` needs graphql-core (the ``testing`` extra); it is imported lazily so that
``from airflow_provider_opslevel.testing import FakeSentry`` works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_opslevel.testing.fake_sentry import FakeSentry

if TYPE_CHECKING:
    from airflow_provider_opslevel.testing.fake_opslevel import FakeOpsLevel

__all__ = ["FakeOpsLevel", "FakeSentry"]


def __getattr__(name: str) -> Any:
    if name == "FakeOpsLevel":
        from airflow_provider_opslevel.testing.fake_opslevel import FakeOpsLevel

        return FakeOpsLevel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
