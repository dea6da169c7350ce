"""Every exception of the OpsLevel layer lives in ``opslevel/errors.py`` and pickles round-trip."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

from airflow_provider_opslevel import opslevel
from airflow_provider_opslevel.opslevel import errors

SAMPLES = {
    errors.OpsLevelApiError: errors.OpsLevelApiError(
        "ComponentTypeGet failed: nope", status=502, errors=[{"message": "nope", "path": ["account"]}]
    ),
    errors.GraphQLPagingError: errors.GraphQLPagingError("ComponentTypeList: page 2 answered endCursor 'a'"),
    errors.MutationPayloadError: errors.MutationPayloadError("componentTypeCreate: taken (at alias)"),
}


def exception_classes(package: object) -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):  # type: ignore[attr-defined]
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_is_defined_in_the_errors_module_and_has_a_sample() -> None:
    classes = exception_classes(opslevel)
    assert {name.rsplit(".", 1)[0] for name in classes} == {errors.__name__}
    assert set(classes.values()) == set(SAMPLES)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_exception_pickles_round_trip(cls: type[BaseException]) -> None:
    original = SAMPLES[cls]
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is cls
    assert str(copy) == str(original) and copy.args == original.args
    assert vars(copy) == vars(original)
