"""Multi-plan integration (多规合一): plan layers, classification, conflicts, site checks."""

from layers.errors import LayerError

__all__ = ["LayerError"]
