"""Liquid-compatible templates (OpsLevel's ``url``, ``headers`` and ``body``) on sandboxed Jinja.

OpsLevel writes templates in Liquid; we run them on :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`
after a small, quote-aware rewrite of the Liquid-only syntax (:mod:`.liquid`). Jinja syntax keeps
working. Undefined variables and attributes are errors (``StrictUndefined``), also inside
``{% if %}``. As in Liquid, ``nil`` renders as an empty string and booleans as ``true``/``false``,
and a JSON object's keys win over ``dict`` methods (``{{ item.items }}``).

``{{ 'name' | secret }}`` calls the resolver given to :meth:`Template.render`; resolved values are
redacted from every :class:`~airflow_provider_opslevel.errors.TemplateError` message.

Authors are not trusted: renders are bounded in time and size (:mod:`.limits`, :mod:`.sizes`), the
globals are reduced to ``range``, and ``include``/``import``/``extends``, ``self`` and unknown
filters or tests are refused at compile time, in every branch.

Modules:

- :mod:`.liquid`: the Liquid -> Jinja rewrite;
- :mod:`.filters`: Liquid's filters; :mod:`.secret_filter`: the ``secret`` filter;
- :mod:`.limits`: the caps and the per-render budget; :mod:`.sizes`: value sizes and the checks
  made before a big value is built;
- :mod:`.environment`: the sandboxed environment and the code-generator hooks that enforce limits;
- :mod:`.engine`: :class:`TemplateEngine` (compile-time checks) and :class:`Template` (render).
"""

from __future__ import annotations

from airflow_provider_opslevel.templating.engine import Template, TemplateEngine
from airflow_provider_opslevel.templating.liquid import liquid_to_jinja

__all__ = ["Template", "TemplateEngine", "liquid_to_jinja"]
