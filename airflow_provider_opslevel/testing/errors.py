"""Errors of the testing helpers: a local Airflow that did not start, or an API call it refused."""

from __future__ import annotations

from typing import Any


class AirflowStackError(Exception):
    """The local Airflow did not start, a process died, or a wait ran out of time."""


class AirflowApiError(AirflowStackError):
    """The Airflow REST API answered a request with an HTTP error.

    :param method: the HTTP method sent.
    :param path: the path requested (``/api/v2/...``).
    :param status: the HTTP status of the answer.
    :param body: the start of the answer's body.
    """

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered HTTP {status}: {body}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.path, self.status, self.body))
