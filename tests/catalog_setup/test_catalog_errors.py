"""Every exception of catalog setup lives in ``catalog_setup/errors.py`` and pickles round-trip."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

from airflow_provider_opslevel import catalog_setup
from airflow_provider_opslevel.catalog_setup import EnsureItem, EnsureReport, SetupChange, errors

REPORT = EnsureReport(
    (
        EnsureItem(
            "property_definition",
            "url",
            "update",
            "sentry_issue",
            "Z2lk",
            (SetupChange("name", "URL", "Link"),),
        ),
    ),
    requests=4,
    mutations=1,
)
SAMPLES = {
    errors.CatalogSetupError: [
        errors.CatalogSetupError("ComponentTypeCreate failed: taken", REPORT),
        errors.CatalogSetupError(["catalog.yaml:3: one", "catalog.yaml:9: two"]),
    ],
}


def test_every_exception_is_defined_in_the_errors_module_and_has_a_sample() -> None:
    classes = set()
    for info in pkgutil.walk_packages(catalog_setup.__path__, f"{catalog_setup.__name__}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                assert module is errors, f"{value.__name__} is defined in {module.__name__}"
                classes.add(value)
    assert classes == set(SAMPLES)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_exception_pickles_round_trip(cls: type[BaseException]) -> None:
    for original in SAMPLES[cls]:
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is cls
        assert str(copy) == str(original) and copy.args == original.args
        assert vars(copy) == vars(original)
