"""Placeholder: replaced by the embedded consumer threads (issue 3)."""

from __future__ import annotations


class EmbeddedConsumers:
    def stop(self, timeout: float = 10.0) -> None:
        return None


def start_embedded_consumers() -> EmbeddedConsumers:
    """Start the db-transport consumers in threads of this process; return a handle."""
    return EmbeddedConsumers()
