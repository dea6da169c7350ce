"""Compiling and rendering: :class:`TemplateEngine` compiles, :class:`Template` renders.

Compiling rewrites Liquid to Jinja, then refuses, in every branch, what Jinja would only notice
when that branch runs (unknown filters and tests, ``include``/``import``/``extends``, ``self``) and,
given the names a template may read, unknown variables. Rendering runs under a fresh budget
(:mod:`~airflow_provider_opslevel.templating.limits`) and caps the result by the key it renders.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SecurityError

from airflow_provider_opslevel.errors import ConfigError, ConfigProblem, Location, TemplateError, did_you_mean
from airflow_provider_opslevel.secrets import SecretResolver
from airflow_provider_opslevel.templating.environment import make_environment
from airflow_provider_opslevel.templating.errors import LimitExceeded, SecretUsageError
from airflow_provider_opslevel.templating.limits import output_limit, reset_budget, start_budget
from airflow_provider_opslevel.templating.liquid import liquid_to_jinja
from airflow_provider_opslevel.templating.secret_filter import RENDER_SECRETS, RenderSecrets

__all__ = ["Template", "TemplateEngine"]


class Template:
    """A compiled template; build it with :meth:`TemplateEngine.compile`.

    :ivar source: the template text as written in the YAML.
    :ivar where: its location, used in every error.
    :ivar variables: top-level variable names it reads (e.g. ``{"cursor", "sentry_project"}``).
    :ivar uses_secrets: whether it calls the ``secret`` filter.
    :ivar secret_names: secret names passed to ``secret`` as string literals.
    """

    __slots__ = ("_template", "secret_names", "source", "uses_secrets", "variables", "where")

    def __init__(
        self,
        source: str,
        where: Location | None,
        template: jinja2.Template,
        variables: frozenset[str],
        secret_names: frozenset[str],
        uses_secrets: bool,
    ) -> None:
        self.source = source
        self.where = where
        self._template = template
        self.variables = variables
        self.secret_names = secret_names
        self.uses_secrets = uses_secrets

    def render(self, context: Mapping[str, Any], secrets: SecretResolver | None = None) -> str:
        """Render with ``context`` (e.g. ``{"cursor": "", "sentry_project": {...}}``).

        :param context: the variables; pass ``cursor=""`` for a first page.
        :param secrets: resolves ``{{ 'name' | secret }}``; required when :attr:`uses_secrets`.
        :raises TemplateError: undefined variable or attribute, missing resolver, sandbox violation,
            a limit of :mod:`~airflow_provider_opslevel.templating.limits` exceeded (time, size of a
            value, or of the result for this :attr:`where`'s key) or any other rendering failure;
            the message names the location (and template line) and never holds a resolved secret value.
        :raises Exception: whatever ``secrets`` raised, unchanged.
        """
        state = RenderSecrets(secrets)
        token = RENDER_SECRETS.set(state)
        budget = start_budget()
        try:
            rendered = self._template.render(dict(context))
        except Exception as error:
            if error is state.resolver_error:
                raise
            raise self._render_error(error, state.resolved) from None
        finally:
            reset_budget(budget)
            RENDER_SECRETS.reset(token)
        self._check_output(rendered)
        return rendered

    def _check_output(self, rendered: str) -> None:
        cap = output_limit(self.where.key if self.where is not None else None)
        if len(rendered) * 4 <= cap:  # UTF-8 takes at most 4 bytes a character: no need to encode
            return
        size = len(rendered.encode("utf-8", "surrogatepass"))
        if size > cap:
            key = self.where.key if self.where is not None and self.where.key else "template"
            raise TemplateError(
                f"rendered {key} is {size:,} bytes, over the limit of {cap:,} bytes", self.where
            )

    def _render_error(self, error: Exception, resolved: list[str]) -> TemplateError:
        source = _excerpt(self.source)
        if isinstance(error, jinja2.UndefinedError):
            message = f"undefined variable in template {source!r}: {error.message}"
        elif isinstance(error, SecretUsageError):
            message = str(error)
        elif isinstance(error, SecurityError):
            message = f"template {source!r} tried an operation the sandbox forbids: {error}"
        elif isinstance(error, LimitExceeded):
            message = f"template {source!r} stopped: {error}"
        elif isinstance(error, RecursionError):
            message = f"template {source!r} stopped: macros nested too deeply"
        else:
            message = f"template {source!r} failed: {type(error).__name__}: {error}"
        for value in sorted(resolved, key=len, reverse=True):
            if value:
                message = message.replace(value, "***")
        return TemplateError(message, _at_line(self.where, _template_line(error)))

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Compiled Jinja code does not pickle; recompile from the source.
        return (_recompile, (self.source, self.where))


def _excerpt(source: str, size: int = 200) -> str:
    """The template as shown in errors: long ones are cut (a YAML author can write megabytes)."""
    return source if len(source) <= size else f"{source[:size]}..."


def _template_line(error: BaseException) -> int | None:
    """The template line that raised ``error`` (Jinja rewrites its traceback to template lines)."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


_FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
    nodes.Extends: "extends",
}


def _recompile(source: str, where: Location | None) -> Template:
    return TemplateEngine().compile(source, where)


def _at_line(where: Location | None, template_line: int | None) -> Location | None:
    """Location of line ``template_line`` of a template written at ``where``."""
    if where is None or where.line is None or not template_line:
        return where
    return where.with_key(where.key, where.line + template_line - 1)


class TemplateEngine:
    """Compiles Liquid-compatible templates into :class:`Template` objects.

    Engines are cheap and thread-safe; compiled Jinja code is cached per engine by source.
    """

    def __init__(self) -> None:
        self._env = make_environment()
        self._cache: dict[
            str, tuple[jinja2.Template, frozenset[str], frozenset[str], bool, nodes.Template]
        ] = {}

    def compile(
        self, source: str, where: Location | None = None, names: Collection[str] | None = None
    ) -> Template:
        """Compile ``source``.

        :param source: the template text (Liquid or Jinja syntax).
        :param where: its location in the YAML, used in errors (template line N is reported at
            ``where.line + N - 1``).
        :param names: the variables the template may read; any other top-level variable is an
            error. ``None`` skips the check.
        :raises ConfigError: syntax error, unknown filter or unknown variable.
        """
        if not isinstance(source, str):
            raise ConfigError.single(where, f"expected a template string, got {type(source).__name__}")
        compiled = self._cache.get(source)
        if compiled is None:
            compiled = self._compile(source, where)
            self._cache[source] = compiled
        template, variables, secret_names, uses_secrets, ast = compiled
        if names is not None:
            self._check_names(ast, variables, set(names), where)
        return Template(source, where, template, variables, secret_names, uses_secrets)

    def _compile(
        self, source: str, where: Location | None
    ) -> tuple[jinja2.Template, frozenset[str], frozenset[str], bool, nodes.Template]:
        try:
            ast = self._env.parse(liquid_to_jinja(source))
            self._check_nodes(ast, where)
            variables = frozenset(meta.find_undeclared_variables(ast)) - set(self._env.globals)
            template = self._env.from_string(ast)
        except jinja2.TemplateSyntaxError as error:
            raise ConfigError.single(
                _at_line(where, error.lineno), self._syntax_message(error, where)
            ) from None
        secret_filters = [f for f in ast.find_all(nodes.Filter) if f.name == "secret"]
        secret_names = frozenset(
            f.node.value
            for f in secret_filters
            if isinstance(f.node, nodes.Const) and isinstance(f.node.value, str)
        )
        return template, variables, secret_names, bool(secret_filters), ast

    def _check_nodes(self, ast: nodes.Template, where: Location | None) -> None:
        """Refuse, in every branch, what Jinja would only notice when that branch runs.

        Jinja defers unknown filters and tests inside ``{% if %}``/``{% for %}``/macros to render
        time, and ``include``/``import``/``extends`` need a loader we do not give.
        """
        problems = []
        kinds: tuple[type[nodes.Node], ...] = (nodes.Filter, nodes.Test, nodes.Name, *_FORBIDDEN_TAGS)
        for node in ast.find_all(kinds):
            message = None
            if isinstance(node, nodes.Filter) and node.name not in self._env.filters:
                message = f"No filter named '{node.name}'{did_you_mean(node.name, self._env.filters)}"
            elif isinstance(node, nodes.Test) and node.name not in self._env.tests:
                message = f"No test named '{node.name}'{did_you_mean(node.name, self._env.tests)}"
            elif isinstance(node, nodes.Name) and node.name == "self" and node.ctx == "load":
                message = "'self' (the template's own blocks) is not available"
            elif type(node) in _FORBIDDEN_TAGS:
                message = (
                    f"{{% {_FORBIDDEN_TAGS[type(node)]} %}} is not supported: there are no other templates"
                )
            if message is not None:
                suffix = f" (template line {node.lineno})" if where is None or where.line is None else ""
                problems.append(
                    ConfigProblem(_at_line(where, node.lineno), f"invalid template: {message}{suffix}")
                )
        if problems:
            raise ConfigError(problems)

    def _syntax_message(self, error: jinja2.TemplateSyntaxError, where: Location | None) -> str:
        message = f"invalid template: {(error.message or '').rstrip('.')}"
        unknown_filter = re.match(r"No filter named '([^']+)'", error.message or "")
        if unknown_filter:
            message += did_you_mean(unknown_filter.group(1), self._env.filters)
        if where is None or where.line is None:
            message += f" (template line {error.lineno})"
        return message

    @staticmethod
    def _check_names(
        ast: nodes.Template, variables: frozenset[str], names: set[str], where: Location | None
    ) -> None:
        unknown = sorted(variables - names)
        if not unknown:
            return
        available = ", ".join(sorted(names)) or "none"
        problems = []
        for name in unknown:
            line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
            problems.append(
                ConfigProblem(
                    _at_line(where, line),
                    f"unknown variable '{name}'; available: {available}{did_you_mean(name, names)}",
                )
            )
        raise ConfigError(problems)
