"""The queue framework's exceptions. Transports translate their client's errors into these."""

from __future__ import annotations


class QueueError(Exception):
    """Base of every error raised by the queue framework."""


class DeclarationError(QueueError):
    """A topic, queue, binding, publisher or consumer is declared wrongly or twice."""


class TransportError(QueueError):
    """The transport (broker or database) failed; the operation may be retried."""


class PublishError(TransportError):
    """Messages were not confirmed by the transport; none of them can be assumed sent."""


class ConsumerAlreadyRunning(QueueError):
    """A single-instance consumer (`--single-thread`) is already running somewhere."""


class UnroutableError(PublishError):
    """No binding routes a message's topic to any queue: nothing was stored."""


class LostClaim(TransportError):
    """A message was taken over by another consumer (our claim outlived the visibility
    timeout of the db transport); the work done for it must roll back."""


class MessageSchemaError(QueueError, ValueError):
    """A message body does not follow its topic's declared schema; it is not published."""
