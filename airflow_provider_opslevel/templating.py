"""Liquid-compatible templates (OpsLevel's ``url``, ``headers`` and ``body``) on sandboxed Jinja.

OpsLevel writes templates in Liquid; we run them on :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`
after a small, quote-aware rewrite of the Liquid-only syntax:

- ``{% elsif %}`` becomes ``{% elif %}``; ``{% unless c %}...{% endunless %}`` becomes
  ``{% if not (c) %}...{% endif %}``; ``{% assign x = v %}`` becomes ``{% set x = v %}``;
- filter arguments ``x | replace: "a", "b"`` become ``x | replace("a", "b")`` (``key: v`` arguments
  become ``key=v``); ``a contains b`` becomes ``(b in a)``; ``nil`` becomes ``none``.

Jinja syntax keeps working. Undefined variables and attributes are errors (``StrictUndefined``),
also inside ``{% if %}``. As in Liquid, ``nil`` renders as an empty string and booleans as
``true``/``false``, and a JSON object's keys win over ``dict`` methods (``{{ item.items }}``).

``{{ 'name' | secret }}`` calls the resolver given to :meth:`Template.render`; resolved values are
redacted from every :class:`~airflow_provider_opslevel.errors.TemplateError` message.

Authors are not trusted: renders are bounded in time and size (see
:mod:`~airflow_provider_opslevel.template_limits`), the globals are reduced to ``range``, and
``include``/``import``/``extends``, ``self`` and unknown filters or tests are refused at compile
time, in every branch.
"""

from __future__ import annotations

import base64
import contextvars
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SecurityError

from airflow_provider_opslevel import template_limits as limits
from airflow_provider_opslevel.errors import ConfigError, ConfigProblem, Location, TemplateError, did_you_mean

__all__ = ["SecretResolver", "Template", "TemplateEngine", "liquid_to_jinja"]

SecretResolver = Callable[[str], str]
"""Turns a secret's name into its value (e.g. the password of an Airflow connection)."""


# --------------------------------------------------------------------------- Liquid -> Jinja rewrite

_TAG_START = re.compile(r"\{\{|\{%|\{#")
_ENDRAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_STATEMENT = re.compile(r"(\s*)([A-Za-z_]\w*)(.*)\Z", re.S)
_COLON_FILTER = re.compile(r"(\s*)([A-Za-z_]\w*)\s*:(?!:)(.*)\Z", re.S)
_KEYWORD_ARG = re.compile(r"(\s*)([A-Za-z_]\w*)\s*:(?!:)(.*)\Z", re.S)
_OPEN = "([{"
_CLOSE = ")]}"


def _skip_string(text: str, i: int) -> int:
    """Return the index just past the quoted string starting at ``text[i]``."""
    quote = text[i]
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return i


def _find_closer(text: str, start: int, closer: str) -> int:
    """Index of ``closer`` ending the tag that starts at ``start``, skipping quoted strings."""
    i = start
    while i < len(text):
        if text[i] in "'\"":
            i = _skip_string(text, i)
        elif text.startswith(closer, i):
            return i
        else:
            i += 1
    return -1


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` outside quotes and brackets."""
    pieces, depth, begin, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "'\"":
            i = _skip_string(text, i)
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            pieces.append(text[begin:i])
            begin = i + 1
        i += 1
    pieces.append(text[begin:])
    return pieces


def _atoms(text: str) -> list[str]:
    """Split into alternating whitespace / non-whitespace runs, outside quotes and brackets."""
    atoms: list[str] = []
    depth, begin, i = 0, 0, 0
    while i < len(text):
        char = text[i]
        if depth == 0 and i > begin and char.isspace() != text[begin].isspace():
            atoms.append(text[begin:i])
            begin = i
        if char in "'\"":
            i = _skip_string(text, i)
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        i += 1
    if begin < len(text):
        atoms.append(text[begin:])
    return atoms


def _translate_operators(text: str) -> str:
    """Rewrite Liquid's ``nil`` and ``a contains b`` in an expression without filters."""
    atoms = ["none" if atom == "nil" else atom for atom in _atoms(text)]
    words = [i for i, atom in enumerate(atoms) if not atom.isspace()]
    for position, i in enumerate(words):
        if atoms[i] == "contains" and 0 < position < len(words) - 1:
            left, right = words[position - 1], words[position + 1]
            atoms[left] = f"({atoms[right]} in {atoms[left]})"
            for j in range(left + 1, right + 1):
                atoms[j] = ""
    return "".join(atoms)


def _translate_filter(segment: str) -> str:
    """``name: a, key: b`` -> ``name(a, key=b)``; anything else is left as is."""
    match = _COLON_FILTER.match(segment)
    if match is None:
        return segment
    lead, name, args = match.groups()
    body = args.rstrip()
    trail = args[len(body) :]
    converted = []
    for arg in _split_top_level(body, ","):
        keyword = _KEYWORD_ARG.match(arg)
        converted.append(f"{keyword.group(1)}{keyword.group(2)}={keyword.group(3)}" if keyword else arg)
    return f"{lead}{name}({','.join(converted).strip()}){trail}"


def _translate_expression(text: str) -> str:
    head, *filters = _split_top_level(text, "|")
    return "|".join([_translate_operators(head), *(_translate_filter(f) for f in filters)])


def _translate_statement(inner: str) -> tuple[str, bool]:
    """Translate the inside of a ``{% %}`` tag; the flag says it opened a raw block."""
    match = _STATEMENT.match(inner)
    if match is None:
        return inner, False
    lead, name, rest = match.groups()
    if name == "raw":
        return inner, True
    if name in ("if", "elif", "elsif"):
        return f"{lead}{'elif' if name == 'elsif' else name}{_translate_expression(rest)}", False
    if name == "unless":
        body = _translate_expression(rest)
        stripped = body.strip()
        return f"{lead}if not ({stripped}){body[len(body.rstrip()) :]}", False
    if name == "endunless":
        return f"{lead}endif{rest}", False
    if name == "assign":
        return f"{lead}set{_translate_expression(rest)}", False
    return inner, False


def liquid_to_jinja(source: str) -> str:
    """Rewrite Liquid-only syntax to Jinja, keeping every newline (so line numbers still match).

    Text outside tags, quoted strings and ``{% raw %}`` blocks is copied unchanged.

    :param source: a Liquid (or Jinja) template.
    """
    out: list[str] = []
    pos = 0
    while True:
        match = _TAG_START.search(source, pos)
        if match is None:
            out.append(source[pos:])
            return "".join(out)
        out.append(source[pos : match.start()])
        opener = match.group()
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[opener]
        end = (
            source.find(closer, match.end()) if opener == "{#" else _find_closer(source, match.end(), closer)
        )
        if end < 0:  # unclosed: let Jinja report it with its own message
            out.append(source[match.start() :])
            return "".join(out)
        inner = source[match.end() : end]
        pos = end + len(closer)
        if opener == "{#":
            out.append(opener + inner + closer)
            continue
        lead = inner[:1] if inner[:1] in ("-", "+") else ""
        trail = inner[-1:] if len(inner) > len(lead) and inner[-1:] in ("-", "+") else ""
        body = inner[len(lead) : len(inner) - len(trail)]
        opens_raw = False
        if opener == "{{":
            body = _translate_expression(body)
        else:
            body, opens_raw = _translate_statement(body)
        out.append(opener + lead + body + trail + closer)
        if opens_raw:
            endraw = _ENDRAW.search(source, pos)
            stop = endraw.end() if endraw else len(source)
            out.append(source[pos:stop])
            pos = stop


# --------------------------------------------------------------------------- Liquid filters


def _defined(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return value


def _text(value: Any) -> str:
    value = _defined(value)
    return "" if value is None else str(value)


def _liquid_default(
    value: Any, default_value: Any = "", boolean: bool = False, allow_false: bool = False
) -> Any:
    # Liquid semantics: nil, false and empty values take the default (so the first-page cursor "" does).
    # ``boolean`` is accepted for Jinja call compatibility; Liquid behaviour already covers it.
    if isinstance(value, jinja2.Undefined) or value is None or value == "" or value == [] or value == {}:
        return default_value
    if value is False and not allow_false:
        return default_value
    return value


def _number(value: Any) -> int | float:
    value = _defined(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _divided_by(value: Any, divisor: Any) -> int | float:
    left, right = _number(value), _number(divisor)
    # Liquid: integer division when both sides are integers.
    return left // right if isinstance(left, int) and isinstance(right, int) else left / right


def _first(value: Any) -> Any:
    value = _defined(value)
    return next(iter(value), None) if not isinstance(value, str) else value[:1]


def _last(value: Any) -> Any:
    value = _defined(value)
    if isinstance(value, str):
        return value[-1:]
    items = list(value)
    return items[-1] if items else None


def _join(value: Any, separator: Any = " ") -> str:
    separator = _text(separator)
    parts, size = [], 0
    for item in _defined(value):  # may be a generator (``map``): size it item by item
        size += limits.weight(item) + len(separator)
        limits.check_size(size, "the join filter")
        parts.append(_text(item))
    return separator.join(parts)


def _times(value: Any, factor: Any) -> int | float:
    left, right = _number(value), _number(factor)
    limits.check_product(left, right, "the times filter")
    return left * right


def _json(value: Any) -> str:
    return json.dumps(_defined(value), ensure_ascii=False)


def _size(value: Any) -> int:
    value = _defined(value)
    return len(value) if hasattr(value, "__len__") else len(str(value))


def _capitalize(value: Any) -> str:
    text = _text(value)
    return text[:1].upper() + text[1:].lower()


LIQUID_FILTERS: dict[str, Callable[..., Any]] = {
    "default": _liquid_default,
    "upcase": lambda v: _text(v).upper(),
    "downcase": lambda v: _text(v).lower(),
    "capitalize": _capitalize,
    "append": lambda v, s: _text(v) + _text(s),
    "prepend": lambda v, s: _text(s) + _text(v),
    "replace": lambda v, old, new="", count=-1: _text(v).replace(_text(old), _text(new), count),
    "replace_first": lambda v, old, new="": _text(v).replace(_text(old), _text(new), 1),
    "remove": lambda v, s: _text(v).replace(_text(s), ""),
    "remove_first": lambda v, s: _text(v).replace(_text(s), "", 1),
    "strip": lambda v: _text(v).strip(),
    "lstrip": lambda v: _text(v).lstrip(),
    "rstrip": lambda v: _text(v).rstrip(),
    "strip_newlines": lambda v: _text(v).replace("\r", "").replace("\n", ""),
    "split": lambda v, sep=" ": _text(v).split(_text(sep)) if _text(sep) else list(_text(v)),
    "size": _size,
    "join": _join,
    "first": _first,
    "last": _last,
    "url_encode": lambda v: urllib.parse.quote_plus(_text(v)),
    "url_decode": lambda v: urllib.parse.unquote_plus(_text(v)),
    "base64_encode": lambda v: base64.b64encode(_text(v).encode()).decode(),
    "base64_decode": lambda v: base64.b64decode(_text(v).encode()).decode(),
    "json": _json,
    "plus": lambda v, n: _number(v) + _number(n),
    "minus": lambda v, n: _number(v) - _number(n),
    "times": _times,
    "divided_by": _divided_by,
    "modulo": lambda v, n: _number(v) % _number(n),
}
"""Liquid filters, by Liquid name. Where a name exists in Jinja too (``default``, ``join``,
``first``, ``last``, ``replace``, ``capitalize``) the Liquid behaviour wins."""


# --------------------------------------------------------------------------- environment


class _SecretUsageError(Exception):
    """The ``secret`` filter was misused; becomes a TemplateError with the template's location."""


@dataclass
class _RenderState:
    resolver: SecretResolver | None
    resolved: list[str] = field(default_factory=list)
    resolver_error: BaseException | None = None


# A context variable (not a template variable) so templates cannot reach the resolver themselves.
_RENDER_STATE: contextvars.ContextVar[_RenderState | None] = contextvars.ContextVar(
    "opslevel_template_render_state", default=None
)


def _secret(name: Any) -> str:
    name = _defined(name)
    if not isinstance(name, str) or not name:
        raise _SecretUsageError(f"the secret filter needs a secret name (a non-empty string), got {name!r}")
    state = _RENDER_STATE.get()
    if state is None or state.resolver is None:
        raise _SecretUsageError(f"template uses secret {name!r} but no secret resolver was given")
    started = time.monotonic()
    try:
        value = state.resolver(name)
    except BaseException as error:
        state.resolver_error = error  # re-raised unchanged by Template.render
        raise
    finally:
        # A slow secrets backend is not the template's fault: its time does not count.
        limits.current().extend(time.monotonic() - started)
    if not isinstance(value, str):
        raise _SecretUsageError(f"secret resolver returned {type(value).__name__} for {name!r}, not a string")
    state.resolved.append(value)
    return value


def _finalize(value: Any) -> Any:
    # Liquid prints nil as "" and booleans in lower case.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    limits.check_printable(value)
    return value


class _LiquidEnvironment(limits.LimitedSandbox):
    code_generator_class = limits.LimitedCodeGenerator

    def getattr(self, obj: Any, attribute: str) -> Any:
        # JSON object keys win over dict methods ({{ page.items }}), as in Liquid.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        # Liquid's collection properties: {{ list.size }}, {{ list.first }}, {{ list.last }}.
        if not isinstance(obj, jinja2.Undefined):
            if attribute == "size" and isinstance(obj, (Sequence, Mapping)):
                return len(obj)
            if attribute in ("first", "last") and isinstance(obj, Sequence) and not isinstance(obj, str):
                return (obj[0] if attribute == "first" else obj[-1]) if obj else None
        return super().getattr(obj, attribute)


def _make_environment() -> _LiquidEnvironment:
    env = _LiquidEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(LIQUID_FILTERS)
    env.filters["secret"] = _secret
    del env.filters["urlize"]  # HTML only, and its output grows with ``target``/``rel`` per link
    env.filters = {name: limits.guard_filter(name, function) for name, function in env.filters.items()}
    # Only ``range`` (bounded by the sandbox) is needed; lipsum, cycler, joiner, namespace and dict
    # would only widen what a template can do.
    env.globals = {"range": env.globals["range"]}
    return env


# --------------------------------------------------------------------------- public API


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

    @property
    def is_constant(self) -> bool:
        """True when the template reads no variable and no secret, so it always renders the same."""
        return not self.variables and not self.uses_secrets

    def render(self, context: Mapping[str, Any], secrets: SecretResolver | None = None) -> str:
        """Render with ``context`` (e.g. ``{"cursor": "", "sentry_project": {...}}``).

        :param context: the variables; pass ``cursor=""`` for a first page.
        :param secrets: resolves ``{{ 'name' | secret }}``; required when :attr:`uses_secrets`.
        :raises TemplateError: undefined variable or attribute, missing resolver, sandbox violation,
            a limit of :mod:`~airflow_provider_opslevel.template_limits` exceeded (time, size of a
            value, or of the result for this :attr:`where`'s key) or any other rendering failure;
            the message names the location (and template line) and never holds a resolved secret value.
        :raises Exception: whatever ``secrets`` raised, unchanged.
        """
        state = _RenderState(secrets)
        token = _RENDER_STATE.set(state)
        budget = limits.start_budget()
        try:
            rendered = self._template.render(dict(context))
        except Exception as error:
            if error is state.resolver_error:
                raise
            raise self._render_error(error, state.resolved) from None
        finally:
            limits.reset_budget(budget)
            _RENDER_STATE.reset(token)
        self._check_output(rendered)
        return rendered

    def _check_output(self, rendered: str) -> None:
        cap = limits.output_limit(self.where.key if self.where is not None else None)
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
        elif isinstance(error, _SecretUsageError):
            message = str(error)
        elif isinstance(error, SecurityError):
            message = f"template {source!r} tried an operation the sandbox forbids: {error}"
        elif isinstance(error, limits.LimitExceeded):
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
        self._env = _make_environment()
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
