"""The consumer runtime: run one declared consumer until told to stop.

    from queues.consumer import ConsumerRuntime
    ConsumerRuntime("async.operations.all", max_messages=1000).run()

See `loop.py`.
"""

from __future__ import annotations

from queues.consumer.database import DatabaseUnavailable, database_unreachable
from queues.consumer.loop import RECONNECT_BACKOFF, ConsumerRuntime, RunResult, run_consumer

__all__ = [
    "RECONNECT_BACKOFF",
    "ConsumerRuntime",
    "DatabaseUnavailable",
    "RunResult",
    "database_unreachable",
    "run_consumer",
]
