"""The consumer runtime: run one declared consumer until told to stop.

    from queues.consumer import ConsumerRuntime
    ConsumerRuntime("async.operations.all", max_messages=1000).run()

One idea per module:

- `loop.py`: ConsumerRuntime (the loop, heartbeats and restart requests, periodic
  tasks, reconnection, giving back claims in hand), RunResult, run_consumer;
- `strategies.py`: processing a received batch one by one, in group commits or
  as batches, each transaction's Outcome settled once it has ended;
- `outcome.py`: Outcome, what came of a batch (counts, what ran, dead letters);
- `dedup.py`: de-duplication by message id (ProcessedMessage);
- `failures.py`: FailurePolicy, retry or dead-letter by max trials;
- `hooks.py`: ConsumerHook, what other apps attach to the loop;
- `database.py`: DatabaseUnavailable, database_unreachable, SQLite writer pauses.
"""

from __future__ import annotations

from queues.consumer.database import DatabaseUnavailable, database_unreachable
from queues.consumer.failures import FailurePolicy
from queues.consumer.hooks import ConsumerHook
from queues.consumer.loop import RECONNECT_BACKOFF, ConsumerRuntime, RunResult, run_consumer
from queues.consumer.outcome import Outcome

__all__ = [
    "RECONNECT_BACKOFF",
    "ConsumerHook",
    "ConsumerRuntime",
    "DatabaseUnavailable",
    "FailurePolicy",
    "Outcome",
    "RunResult",
    "database_unreachable",
    "run_consumer",
]
