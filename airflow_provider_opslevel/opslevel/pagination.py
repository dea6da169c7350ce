"""Every node of a GraphQL connection, page by page, the opslevel-go way.

The first page is requested with ``after: ""``; the next ones with ``after = pageInfo.endCursor``
while ``pageInfo.hasNextPage``. A server that answers a cursor it already gave (or says there is
more without giving a cursor) would keep a reader asking for the same pages for ever, so that
stops with :class:`~airflow_provider_opslevel.opslevel.errors.GraphQLPagingError`, as does a
connection longer than ``max_pages``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_opslevel.opslevel.errors import GraphQLPagingError

__all__ = ["MAX_PAGES", "PageFetcher", "collect_nodes", "connection_at"]

#: Pages read from one connection at most (5 million components at OpsLevel's 500 per page).
MAX_PAGES = 10_000

#: Given the cursor to read after (``""`` first), the connection (``nodes`` and ``pageInfo``),
#: or ``None`` when the answer holds no such connection (its owner is gone): no more nodes.
PageFetcher = Callable[[str], Mapping[str, Any] | None]


def collect_nodes(fetch: PageFetcher, *, label: str, max_pages: int = MAX_PAGES) -> list[dict[str, Any]]:
    """Every non-null node of a connection, in order.

    :param fetch: reads one page (see :data:`PageFetcher`).
    :param label: the operation, for error messages.
    :param max_pages: stop with an error beyond this many pages.
    :raises GraphQLPagingError: a repeated or missing cursor, or more than ``max_pages`` pages.
    """
    nodes: list[dict[str, Any]] = []
    after = ""
    seen = {after}
    for page in range(1, max_pages + 1):
        connection = fetch(after)
        if connection is None:
            return nodes
        nodes += [node for node in connection.get("nodes") or [] if node]
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return nodes
        cursor = info.get("endCursor")
        if not cursor:
            raise GraphQLPagingError(
                f"{label}: page {page} says there is a next page but gives no endCursor; stopped"
            )
        if cursor in seen:
            raise GraphQLPagingError(
                f"{label}: page {page} answered endCursor {cursor!r}, a cursor already read after; "
                "stopped rather than reading the same pages again"
            )
        seen.add(cursor)
        after = cursor
    raise GraphQLPagingError(f"{label}: more than {max_pages} pages; stopped")


def connection_at(data: Mapping[str, Any] | None, path: list[str]) -> Mapping[str, Any] | None:
    """The connection at ``path`` in a query's ``data`` (``None`` when a step on the way is null)."""
    node: Any = data
    for key in path:
        node = (node or {}).get(key)
    return node
