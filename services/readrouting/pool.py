"""The feature and tile routes' pool when replicas are configured: the primary's pool, plus
one per replica, and at each checkout the node the request's :class:`~.context.Route`
allows (services/readrouting/nodes.py chooses). Routes ask it as they ask a plain
:class:`~services.ogcapi.pool.AsyncPool`; none of them knows where its rows come from.

A replica that refuses the connection is marked down and the read goes to the primary; a
primary that refuses it is marked down and the read goes to a replica (writes fail: 503).
A node that breaks during a statement fails that one request (503) and is marked down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import psycopg

from services.ogcapi.pool import AsyncPool
from services.readrouting.context import ROUTE, Route
from services.readrouting.nodes import Node, NodeSet


class RoutedPool(AsyncPool):
    """An :class:`AsyncPool` on the primary that sends reads to replicas."""

    def __init__(
        self,
        connect: Mapping[str, Any],
        size: int,
        nodes: NodeSet,
        replicas: Mapping[str, Mapping[str, Any]],
    ) -> None:
        super().__init__(connect, size)
        self.nodes = nodes
        self.replica_pools = {name: AsyncPool(kwargs, size) for name, kwargs in replicas.items()}

    async def _node(self, route: Route | None) -> Node:
        if route is None or route.write:
            return self.nodes.primary
        if route.node is not None:
            return self.nodes.get(route.node)
        return await self.nodes.choose(route.after_lsn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection to the node the current request reads from (the primary outside a
        request, and for writes)."""
        route = ROUTE.get()
        node = await self._node(route)
        async with AsyncExitStack() as stack:
            conn = None
            if node is not self.nodes.primary:
                try:
                    replica = self.replica_pools[node.name].connection()
                    conn = await stack.enter_async_context(replica)
                except psycopg.OperationalError:
                    await node.lost()
                    node = self.nodes.primary
            if conn is None:
                try:
                    conn = await stack.enter_async_context(AsyncPool.connection(self))
                except psycopg.OperationalError:
                    if route is None or route.write or not self.replica_pools:
                        raise
                    await node.lost()  # a read goes on from a replica if one is left
                    node = await self.nodes.choose(route.after_lsn)
                    if node is self.nodes.primary:
                        raise
                    replica = self.replica_pools[node.name].connection()
                    conn = await stack.enter_async_context(replica)
            if route is not None:
                route.node = node.name
            try:
                yield conn
            finally:
                if conn.broken and node is not self.nodes.primary:
                    await node.lost()

    async def close(self) -> None:
        await super().close()
        for pool in self.replica_pools.values():
            await pool.close()
