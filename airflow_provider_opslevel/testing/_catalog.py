"""The in-memory OpsLevel catalog behind :class:`~.fake_opslevel.FakeOpsLevel`.

Plain Python, no GraphQL: the resolvers in ``_graphql_api`` translate GraphQL arguments
(coerced input dicts with the SDL's camelCase keys) into calls on :class:`Catalog`, and
the Python test API uses the same methods, so both paths share one implementation.

Mutating methods return ``(result, errors)`` where ``errors`` is a list of OpsLevel
payload errors ``{"message": str, "path": [str, ...]}`` (``path`` names the input field,
``["base"]`` the whole object) and nothing changes when it is non-empty.

Every public method takes :attr:`Catalog.lock` (re-entrant); the GraphQL layer holds it for
a whole execution, so one request never observes another half-done.

Rule-managed relationships (see ``_rules``) are derived data: every mutation that can change
them marks them stale, and :meth:`Catalog.managed_relationships` recomputes them on the next
read, so a bulk sync of thousands of components pays for one evaluation, not one per call.
"""

from airflow_provider_opslevel.testing._catalog_components import Components
from airflow_provider_opslevel.testing._catalog_relationships import Relationships
from airflow_provider_opslevel.testing._catalog_types import ComponentTypes

__all__ = ["Catalog"]


class Catalog(ComponentTypes, Components, Relationships):
    """The whole catalog: :class:`~._catalog_data.CatalogData` with every operation, and the
    built-in ``service`` component type."""

    def __init__(self) -> None:
        super().__init__()
        service, _ = self.create_type({"alias": "service", "name": "Service"})
        assert service is not None
        service.is_default = True
        service.description = "Services are software deployed in your infrastructure"
        self.default_type = service
