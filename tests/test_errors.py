"""Every exception of the package: one errors module per package, and each pickles whole.

Airflow pickles a task's exception to carry it out of the task process; an exception whose
``__init__`` takes other arguments than its ``args`` does not unpickle without ``__reduce__``.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from typing import Any

import pytest

import airflow_provider_opslevel
from airflow_provider_opslevel.errors import ConfigProblem, Location

# Airflow adapters import airflow at module level; they define no exceptions of their own.
_SKIP = ("airflow_provider_opslevel.operators", "airflow_provider_opslevel.hooks")


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(airflow_provider_opslevel.__path__, "airflow_provider_opslevel."):
        if info.name.startswith(_SKIP) or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


EXCEPTIONS = _exception_classes()
SAMPLES: dict[str, Any] = {
    "where": Location("extract.yaml", 7, "extractors", 0, "thing", "external_id"),
    "location": Location("extract.yaml", 7),
    "problems": [ConfigProblem(Location("extract.yaml", 7), "bad value")],
    "secret_names": ["sentry_api_token"],
    "status": 401,
    "url": "https://api.example.com/x",
    "attempts": 3,
    "CatalogSetupError.problems": ["component type 'x': refused"],
    "_LimitExceededError.mark": None,
}


def _instance(cls: type[BaseException]) -> BaseException:
    arguments: list[Any] = []
    keywords: dict[str, Any] = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        value = SAMPLES.get(f"{cls.__name__}.{name}", SAMPLES.get(name, f"{name} of {cls.__name__}"))
        if parameter.kind == parameter.KEYWORD_ONLY:
            keywords[name] = value
        elif parameter.default is parameter.empty or name in SAMPLES or f"{cls.__name__}.{name}" in SAMPLES:
            arguments.append(value)
    return cls(*arguments, **keywords)


def test_the_walk_finds_the_exceptions() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"ConfigError", "HttpError", "OAuthError", "SyncFailed", "OpsLevelApiError", "LimitExceeded"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_each_public_exception_lives_in_its_packages_errors_module(cls: type[BaseException]) -> None:
    if cls.__name__.startswith("_"):
        pytest.skip("private control flow inside one module")
    assert cls.__module__.endswith(".errors"), f"{cls.__name__} is defined in {cls.__module__}"


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_each_exception_pickles_with_its_message_and_attributes(cls: type[BaseException]) -> None:
    error = _instance(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
