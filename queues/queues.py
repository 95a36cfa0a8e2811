"""The queue framework's own declarations: periodic clean-up."""

from __future__ import annotations

from queues.declarations import Periodic
from queues.registry import declare

declare(
    # Delete done db-transport messages, old de-duplication records and the rows of
    # long-stopped consumers. Runs in the embedded server and under the runner.
    Periodic(name="queues.cleanup", func="queues.actions.cleanup", interval=3600),
)
