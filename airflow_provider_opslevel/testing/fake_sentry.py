"""A fake Sentry web API (projects and issues) served over real HTTP.

Pagination and rate-limit headers follow Sentry's ``src/sentry/api/base.py`` and
``paginator.py`` behaviour; the data comes from :mod:`.sentry_data` and the scripted faults
from :mod:`.sentry_faults`.
"""

from __future__ import annotations

import base64
import random
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

from airflow_provider_opslevel.testing._server import (
    FakeHTTPServer,
    Response,
    bearer_token,
    json_response,
)
from airflow_provider_opslevel.testing.sentry_data import (
    DEFAULT_PROJECT_NAMES,
    make_issue,
    make_organization,
    make_project,
)
from airflow_provider_opslevel.testing.sentry_faults import RATE_LIMIT_WINDOW, Rewrite, rate_limit_headers

__all__ = ["FakeSentry"]

_NOT_FOUND = {"detail": "The requested resource does not exist"}
_INVALID_CURSOR = {"detail": "Invalid cursor parameter."}
_STATS_PERIODS = ("", "24h", "14d")


class _BadRequest(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FakeSentry(FakeHTTPServer):
    """Fake Sentry serving projects and issues with Sentry's pagination and headers.

    Endpoints (all ``GET``, all need ``Authorization: Bearer <token>``, else HTTP 401
    ``{"detail": "Invalid token"}``):

    * ``/api/0/projects/``: every project, each with ``organization{id,slug,name,...}``;
      ``per_page`` 1..100.
    * ``/api/0/organizations/{org}/projects/``: the same projects without ``organization``.
    * ``/api/0/projects/{org}/{project_id_or_slug}/issues/``: ``limit`` (clamped to 100)
      overrides ``page_size``; ``query`` defaults to ``is:unresolved`` like Sentry (send
      ``query=`` for all issues). As on sentry.io the search filter runs *after* the page
      is cut, so a page may be short, or empty with ``results="true"``, while more follow.
      ``statsPeriod`` must be ``""``, ``24h`` or ``14d``.

    Unknown org/project: 404 ``{"detail": "The requested resource does not exist"}``; a bad
    ``cursor``: 400. Lists carry ``Link: <…&cursor=0:N:1>; rel="previous"; …, <…&cursor=0:M:0>;
    rel="next"; results="true|false"; cursor="0:M:0"``; every response carries the
    ``X-Sentry-Rate-Limit-*`` headers (counted per 1 s window; HTTP 429 only when
    ``enforce_rate_limit``).

    Data lives in plain, mutable attributes that tests may edit between runs:
    :attr:`projects` (list of project dicts, served in list order) and :attr:`issues`
    (project id -> list of issue dicts). An issue whose ``permalink`` is ``None`` gets
    ``{url}/organizations/{org}/issues/{id}/`` when served.

    Observability: :attr:`requests` (dicts with ``method``, ``path``, ``query`` (dict, last
    value wins), ``headers`` (lower-cased names) and, once answered, ``status``),
    :attr:`request_count`, :meth:`reset_log`.

    Faults: :attr:`faults` is a list of callables ``(info) -> None | (status, headers, body)``
    where ``info`` is the request-log dict above. They run in order before authentication;
    the first one returning a response short-circuits the handler (no rate-limit headers are
    added). Example: ``fake.faults.append(lambda info: too_many_requests() if
    info["path"].endswith("/issues/") else None)``. :func:`respond` and :func:`delay` build
    counted ones (``respond(server_error(), times=2)``; ``delay(1.0, times=1)`` for read timeouts).
    :attr:`rewrites` (callables ``(info, response) -> None | response``, see :func:`rewrite`)
    change a response after it was built (:func:`truncate_body`, :func:`set_header`).
    ``latency`` is how long every answer takes from the request's arrival, at least.

    OAuth (when ``oauth_clients`` is given): ``POST /oauth/token`` takes a form with
    ``grant_type=client_credentials`` and the client's id/secret in the form or as HTTP Basic,
    answers ``{"access_token", "token_type": "bearer", "expires_in": token_ttl}`` (other form
    fields, e.g. ``audience``, are kept in the request log under ``form``), HTTP 401
    ``{"error": "invalid_client"}`` for an unknown client, 400 ``unsupported_grant_type`` else.
    The API then accepts those tokens until they expire (:attr:`issued_tokens`,
    :meth:`revoke_tokens`; :attr:`token_requests` counts token requests) as well as ``token``.

    :param token: the accepted bearer token.
    :param org: organization slug.
    :param projects: number of projects to generate.
    :param issues_per_project: number of issues generated per project.
    :param page_size: default page size of every list (``limit``/``per_page`` override it).
    :param project_names: names for the generated projects; defaults to
        :data:`DEFAULT_PROJECT_NAMES` (the third, "payments-production", matches the seed
        integration's ``exclude: .name | test("production")``), then ``Project N``.
    :param seed: seed of the deterministic data generator.
    :param resolved_every: if > 0, every Nth generated issue is resolved or ignored, hence
        hidden by the default ``is:unresolved`` query. ``0`` makes all issues unresolved.
    :param rate_limit: the ``X-Sentry-Rate-Limit-Limit`` value (requests per second).
    :param enforce_rate_limit: answer HTTP 429 once ``rate_limit`` requests arrived within a second.
    :param latency: seconds from a request's arrival to its answer, at least (the fake's own work
        and any fault delay count towards it, as a remote server's do).
    :param oauth_clients: client id -> client secret accepted by ``POST /oauth/token``.
    :param token_ttl: ``expires_in`` of the tokens it issues, in seconds.
    :param port: port to bind on 127.0.0.1; ``0`` picks a free one.
    """

    token_path = "/oauth/token"

    def __init__(
        self,
        *,
        token: str = "sentry-test-token",
        org: str = "opslevel",
        projects: int = 3,
        issues_per_project: int = 5,
        page_size: int = 100,
        project_names: list[str] | None = None,
        seed: int = 0,
        resolved_every: int = 0,
        rate_limit: int = 40,
        enforce_rate_limit: bool = False,
        latency: float = 0.0,
        oauth_clients: Mapping[str, str] | None = None,
        token_ttl: float = 3600.0,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.latency = latency
        self.oauth_clients = dict(oauth_clients or {})
        self.token_ttl = token_ttl
        #: Issued OAuth token -> ``time.monotonic()`` when it expires.
        self.issued_tokens: dict[str, float] = {}
        #: Response rewrites, tried in order after the response was built; see the class docstring.
        self.rewrites: list[Rewrite] = []
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.token = token
        self.org = org
        self.page_size = page_size
        self.rate_limit = rate_limit
        self.enforce_rate_limit = enforce_rate_limit
        self.concurrent_limit = 25
        #: Guards :attr:`projects`/:attr:`issues` against the helpers running concurrently.
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._next_issue = 6500000000 + seed * 1000000
        self._short_ids: dict[str, int] = {}
        self._resolved_every = resolved_every
        self._generated = 0
        self._rl_lock = threading.Lock()
        self._window = 0
        self._window_count = 0
        self._in_flight = 0
        self.organization = make_organization(self.org)
        names = list(project_names) if project_names is not None else []
        self.projects: list[dict[str, Any]] = []
        self.issues: dict[str, list[dict[str, Any]]] = {}
        for index in range(projects):
            if index < len(names):
                name = names[index]
            elif project_names is None and index < len(DEFAULT_PROJECT_NAMES):
                name = DEFAULT_PROJECT_NAMES[index]
            else:
                name = f"Project {index + 1}"
            project = self.add_project(name)
            for _ in range(issues_per_project):
                self._generated += 1
                hidden = self._resolved_every > 0 and self._generated % self._resolved_every == 0
                self.issues[project["id"]].append(self._make_issue(project, hidden=hidden))

    # -- data ------------------------------------------------------------------------------
    def add_project(self, name: str, **fields: Any) -> dict[str, Any]:
        """Add a project (with an empty issue list) and return it.

        :param name: display name; the slug is derived from it unless given in ``fields``.
        :param fields: keys overriding the generated ones (``id``, ``slug``, ``platform``, ...).
        """
        with self.lock:
            project = make_project(len(self.projects), name, self.organization)
            project.update(fields)
            self.projects.append(project)
            self.issues.setdefault(project["id"], [])
            return project

    def _make_issue(self, project: dict[str, Any], *, hidden: bool = False) -> dict[str, Any]:
        self._next_issue += 1
        seq = self._short_ids[project["id"]] = self._short_ids.get(project["id"], 0) + 1
        issue = make_issue(self._rng, self._next_issue, seq, project, hidden=hidden)
        if self._httpd is not None:
            issue["permalink"] = self._permalink(issue["id"])
        return issue

    def _permalink(self, issue_id: str) -> str:
        return f"{self.url}/organizations/{self.org}/issues/{issue_id}/"

    def _on_start(self) -> None:
        with self.lock:
            for issues in self.issues.values():
                for issue in issues:
                    if issue.get("permalink") is None:
                        issue["permalink"] = self._permalink(issue["id"])

    def project(self, project_id_or_slug: str) -> dict[str, Any] | None:
        """The project with this id or slug, or ``None``."""
        with self.lock:
            for project in self.projects:
                if project_id_or_slug in (project["id"], project["slug"]):
                    return project
        return None

    def add_issue(self, project_id_or_slug: str, **fields: Any) -> dict[str, Any]:
        """Generate an unresolved issue for a project, apply ``fields``, append and return it.

        :param project_id_or_slug: the project's id or slug.
        :param fields: keys overriding the generated ones (``title``, ``status``, ...).
        :raises KeyError: unknown project.
        """
        with self.lock:
            project = self.project(project_id_or_slug)
            if project is None:
                raise KeyError(project_id_or_slug)
            issue = self._make_issue(project)
            issue.update(fields)
            self.issues.setdefault(project["id"], []).append(issue)
            return issue

    def remove_issue(self, issue_id: str) -> dict[str, Any]:
        """Remove an issue from whichever project holds it and return it.

        :raises KeyError: no such issue.
        """
        with self.lock:
            for issues in self.issues.values():
                for index, issue in enumerate(issues):
                    if issue["id"] == str(issue_id):
                        return issues.pop(index)
        raise KeyError(issue_id)

    def visible_issues(self, project_id_or_slug: str, query: str = "is:unresolved") -> list[dict[str, Any]]:
        """The issues a client following every page would receive for ``query``.

        :param project_id_or_slug: the project's id or slug.
        :param query: Sentry search query (only ``is:<status>`` and free text are understood).
        """
        with self.lock:
            project = self.project(project_id_or_slug)
            if project is None:
                raise KeyError(project_id_or_slug)
            return [i for i in self.issues.get(project["id"], []) if _matches(i, query)]

    # -- OAuth -----------------------------------------------------------------------------
    @property
    def token_requests(self) -> int:
        """Requests to the OAuth token endpoint logged since the last :meth:`reset_log`."""
        return sum(1 for r in self.requests if r["path"] == self.token_path)

    def revoke_tokens(self) -> None:
        """Forget every issued OAuth token (the next request with one gets HTTP 401)."""
        with self.lock:
            self.issued_tokens.clear()

    def _accepts(self, token: str | None) -> bool:
        if token is None:
            return False
        if token == self.token:
            return True
        with self.lock:
            expires = self.issued_tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def _token_endpoint(self, info: dict[str, Any], body: bytes) -> Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        info["form"] = form
        if info["method"] != "POST":
            return json_response(405, {"error": "invalid_request"})
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = info["headers"].get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except ValueError:
                return json_response(400, {"error": "invalid_request"})
            client_id, client_secret = unquote_plus(user), unquote_plus(password)
        if form.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        if client_id is None or self.oauth_clients.get(client_id) != client_secret:
            return json_response(401, {"error": "invalid_client"})
        token = "oauth-" + secrets.token_urlsafe(16)
        with self.lock:
            self.issued_tokens[token] = time.monotonic() + self.token_ttl
        return json_response(
            200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl}
        )

    # -- HTTP ------------------------------------------------------------------------------
    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        split = urlsplit(raw_path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        info: dict[str, Any] = {"method": method, "path": split.path, "query": params, "headers": headers}
        arrived = time.monotonic()
        self._record(info)
        with self._rl_lock:
            self._in_flight += 1
        try:
            response = self._answer(info, headers.get("host"), body)
            for change in list(self.rewrites):  # copy: tests may edit the list while serving
                changed = change(info, response)
                if changed is not None:
                    response = changed
                    break
            # Like a remote API's, the latency includes the server's own work: the answer leaves
            # ``latency`` after the request arrived, not ``latency`` plus the fake's CPU time.
            remaining = self.latency - (time.monotonic() - arrived)
            if remaining > 0:
                time.sleep(remaining)
        finally:
            with self._rl_lock:
                self._in_flight -= 1
        info["status"] = response[0]
        return response

    def _answer(self, info: dict[str, Any], host: str | None, body: bytes = b"") -> Response:
        fault = self._run_faults(info)
        if fault is not None:
            return fault
        if self.oauth_clients and info["path"] == self.token_path:
            return self._token_endpoint(info, body)
        limited, rate = self._count_request()
        if not self._accepts(bearer_token(info["headers"])):
            return json_response(401, {"detail": "Invalid token"}, rate)
        if limited:
            return json_response(
                429,
                f"You are attempting to use this endpoint too frequently. "
                f"Limit is {self.rate_limit} requests in 1 seconds",
                rate,
            )
        if info["method"] not in ("GET", "HEAD"):
            return json_response(405, {"detail": f'Method "{info["method"]}" not allowed.'}, rate)
        base = f"http://{host or f'127.0.0.1:{self.port}'}{info['path']}"
        try:
            return self._route(info["path"], info["query"], base, rate)
        except _BadRequest as exc:
            return json_response(400, {"detail": exc.detail}, rate)

    def _route(self, path: str, params: dict[str, str], base: str, rate: dict[str, str]) -> Response:
        if re.fullmatch(r"/api/0/projects/?", path):
            with self.lock:
                rows = list(self.projects)
            return self._list(rows, params, base, rate, self._per_page(params), None)
        match = re.fullmatch(r"/api/0/organizations/([^/]+)/projects/?", path)
        if match:
            if unquote(match[1]) != self.org:
                return json_response(404, _NOT_FOUND, rate)
            with self.lock:
                rows = [{k: v for k, v in p.items() if k != "organization"} for p in self.projects]
            return self._list(rows, params, base, rate, self._per_page(params), None)
        match = re.fullmatch(r"/api/0/projects/([^/]+)/([^/]+)/issues/?", path)
        if match:
            project = self.project(unquote(match[2]))
            if unquote(match[1]) != self.org or project is None:
                return json_response(404, _NOT_FOUND, rate)
            if params.get("statsPeriod", "") not in _STATS_PERIODS:
                raise _BadRequest("Invalid stats_period. Valid choices are '', '24h', and '14d'")
            limit = self.page_size
            if "limit" in params:
                try:
                    limit = min(int(params["limit"]), 100)
                except ValueError:
                    raise _BadRequest("Invalid limit parameter.") from None
                if limit < 1:
                    raise _BadRequest("Invalid limit parameter.")
            with self.lock:
                rows = list(self.issues.get(project["id"], []))
            query = params.get("query", "is:unresolved")
            return self._list(rows, params, base, rate, limit, query)
        return json_response(404, _NOT_FOUND, rate)

    def _per_page(self, params: dict[str, str]) -> int:
        if "per_page" not in params:
            return self.page_size
        try:
            per_page = int(params["per_page"])
        except ValueError:
            raise _BadRequest("Invalid per_page parameter.") from None
        if not 1 <= per_page <= 100:
            raise _BadRequest("Invalid per_page parameter.")
        return per_page

    def _list(
        self,
        rows: list[dict[str, Any]],
        params: dict[str, str],
        base: str,
        rate: dict[str, str],
        limit: int,
        query: str | None,
    ) -> Response:
        start, end, is_prev = _parse_cursor(params.get("cursor"), limit)
        page = rows[start:end]
        if query is not None:  # issue search filters the cut page, as sentry.io does
            page = [self._served_issue(i) for i in page if _matches(i, query)]
        # Sentry's querystring: every parameter except cursor, so "?&cursor=" when there is none.
        qs = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items() if k != "cursor")
        uri = f"{base}?{qs}"
        next_offset = end if is_prev else start + limit
        links = [
            ("previous", f"0:{start}:1", start > 0),
            ("next", f"0:{next_offset}:0", next_offset < len(rows)),
        ]
        link = ", ".join(
            f'<{uri}&cursor={cursor}>; rel="{rel}"; results="{"true" if more else "false"}"; cursor="{cursor}"'
            for rel, cursor, more in links
        )
        return json_response(200, page, {**rate, "Link": link})

    def _served_issue(self, issue: dict[str, Any]) -> dict[str, Any]:
        if issue.get("permalink") is None:
            issue = {**issue, "permalink": self._permalink(issue["id"])}
        return issue

    def _count_request(self) -> tuple[bool, dict[str, str]]:
        now = int(time.time())
        with self._rl_lock:
            if now != self._window:
                self._window, self._window_count = now, 0
            self._window_count += 1
            limited = self.enforce_rate_limit and self._window_count > self.rate_limit
            remaining = max(0, self.rate_limit - self._window_count)
            concurrent_left = max(0, self.concurrent_limit - self._in_flight)
        reset = self._window + RATE_LIMIT_WINDOW
        return limited, rate_limit_headers(
            self.rate_limit, remaining, reset, self.concurrent_limit, concurrent_left
        )


def _parse_cursor(cursor: str | None, limit: int) -> tuple[int, int, bool]:
    """``value:offset:is_prev`` -> the ``[start, end)`` slice to serve and the direction."""
    if cursor is None or cursor == "":
        return 0, limit, False
    parts = cursor.split(":")
    if len(parts) != 3:
        raise _BadRequest(_INVALID_CURSOR["detail"])
    try:
        _value, offset, is_prev = (int(float(parts[0])), int(parts[1]), int(parts[2]))
    except ValueError:
        raise _BadRequest(_INVALID_CURSOR["detail"]) from None
    if offset < 0 or is_prev not in (0, 1):
        raise _BadRequest(_INVALID_CURSOR["detail"])
    if is_prev:
        return max(0, offset - limit), offset, True
    return offset, offset + limit, False


def _matches(issue: dict[str, Any], query: str) -> bool:
    """A tiny subset of Sentry search: ``is:<status>`` terms and free text on the title."""
    statuses = {"archived": "ignored"}
    for term in query.split():
        key, sep, value = term.partition(":")
        if sep and key == "is":
            if value in ("unresolved", "resolved", "ignored", "archived"):
                if issue.get("status") != statuses.get(value, value):
                    return False
        elif not sep and term.lower() not in str(issue.get("title", "")).lower():
            return False
    return True
