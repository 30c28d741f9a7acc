"""Reads from hot standbys, writes to the primary (docs/operations-replica.md).

- :mod:`.context`: what one request may read from (:class:`Route`), set per request;
- :mod:`.nodes`: the primary and the replicas, and how far each has replayed;
- :mod:`.pool`: the feature and tile routes' async pool, choosing a node per request;
- :mod:`.middleware`: decides read or write by the HTTP method, and keeps each client's
  last write position so that its next read sees that write (read-your-writes).
"""

from services.readrouting.context import Route
from services.readrouting.middleware import ReadRouting
from services.readrouting.nodes import Node, NodeSet
from services.readrouting.pool import RoutedPool

__all__ = ["Node", "NodeSet", "ReadRouting", "Route", "RoutedPool"]
