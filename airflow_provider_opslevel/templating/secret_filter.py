"""The ``secret`` filter: ``{{ 'name' | secret }}`` asks the resolver given to the render.

The resolver lives in a context variable (not a template variable) so templates cannot reach it
themselves; the render remembers the values it resolved so its errors can redact them.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_opslevel.secrets import SecretResolver
from airflow_provider_opslevel.templating.errors import SecretUsageError
from airflow_provider_opslevel.templating.filters import defined
from airflow_provider_opslevel.templating.limits import current

__all__ = ["RENDER_SECRETS", "RenderSecrets", "SecretUsageError", "secret"]


@dataclass
class RenderSecrets:
    """The secrets side of one render.

    :param resolver: resolves secret names; ``None`` when the render was given none.
    :param resolved: the values resolved so far, redacted from the render's errors.
    :param resolver_error: what the resolver raised, re-raised unchanged by the render.
    """

    resolver: SecretResolver | None
    resolved: list[str] = field(default_factory=list)
    resolver_error: BaseException | None = None


RENDER_SECRETS: contextvars.ContextVar[RenderSecrets | None] = contextvars.ContextVar(
    "opslevel_template_render_state", default=None
)
"""The :class:`RenderSecrets` of the render in progress."""


def secret(name: Any) -> str:
    """The value of secret ``name``, from the render's resolver."""
    name = defined(name)
    if not isinstance(name, str) or not name:
        raise SecretUsageError(f"the secret filter needs a secret name (a non-empty string), got {name!r}")
    state = RENDER_SECRETS.get()
    if state is None or state.resolver is None:
        raise SecretUsageError(f"template uses secret {name!r} but no secret resolver was given")
    started = time.monotonic()
    try:
        value = state.resolver(name)
    except BaseException as error:
        state.resolver_error = error  # re-raised unchanged by Template.render
        raise
    finally:
        # A slow secrets backend is not the template's fault: its time does not count.
        current().extend(time.monotonic() - started)
    if not isinstance(value, str):
        raise SecretUsageError(f"secret resolver returned {type(value).__name__} for {name!r}, not a string")
    state.resolved.append(value)
    return value
