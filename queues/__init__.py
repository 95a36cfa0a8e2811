"""The message queue framework (Magento's MQF for Django).

Public API:

    from queues import declare, publish, publish_many, publish_on_commit, publish_many_on_commit
    from queues import Topic, Exchange, Queue, Binding, Publisher, Consumer, Periodic
    from queues import Envelope, OutgoingMessage, registry

Handlers are `handler(envelope: Envelope) -> None`; see docs/queues.md.
"""

from __future__ import annotations

from queues import registry
from queues.declarations import Binding, Consumer, Exchange, Periodic, Publisher, Queue, Topic
from queues.publisher import (
    OutgoingMessage,
    publish,
    publish_many,
    publish_many_on_commit,
    publish_on_commit,
)
from queues.registry import declare
from queues.transports.base import Envelope

__all__ = [
    "Binding",
    "Consumer",
    "Envelope",
    "Exchange",
    "OutgoingMessage",
    "Periodic",
    "Publisher",
    "Queue",
    "Topic",
    "declare",
    "publish",
    "publish_many",
    "publish_many_on_commit",
    "publish_on_commit",
    "registry",
]
