"""Runtime hooks: what other apps attach to a consumer's loop without touching it.

In the manner of dramatiq's middleware: subclass `ConsumerHook`, override the
methods you need (each does nothing by default), and attach the class

- to one consumer: `Consumer(..., hooks=(Recorder, "events.hooks.Emitter"))`;
- to every consumer: `QUEUES["CONSUMER_HOOKS"] = ["metrics.hooks.Recorder"]`;
- to one runtime (tests): `ConsumerRuntime(name, hooks=[Recorder()])`.

Each is a class, an instance, or the dotted path of a class. A class is
instantiated once per runtime (so a hook may keep state for the life of one
consumer run); an instance is used as given. A runtime calls its hooks in that
order, after the consumer's own `on_dead_letter` (which is itself a hook here),
from the runtime's thread only.

A hook's exception is logged with its traceback and swallowed: a hook never stops
the loop, and never changes what becomes of a message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from queues.conf import queue_settings
from queues.declarations import Consumer, resolve_handler

if TYPE_CHECKING:
    from queues.consumer.loop import ConsumerRuntime
    from queues.consumer.outcome import Outcome
    from queues.transports import Delivery

logger = logging.getLogger(__name__)

HookSpec = Any  # a ConsumerHook subclass, an instance of one, or the dotted path of a subclass


class ConsumerHook:
    """The base of runtime hooks. Every method does nothing; override those you need.

    "Outside any transaction" below means outside every transaction of the runtime:
    a hook that writes to the database commits on its own (or opens its own
    `transaction.atomic()`), and its work never rolls back with a message's.
    """

    def before_process(self, runtime: ConsumerRuntime, deliveries: Sequence[Delivery]) -> None:
        """Called once per batch of deliveries just received from the transport, before
        any of them is handled, outside any transaction. The batch may hold undecodable
        deliveries (`envelope` None) and ids already processed."""

    def after_process(self, runtime: ConsumerRuntime, outcome: Outcome) -> None:
        """Called once per received batch, after every delivery of it has been dealt
        with (its work committed and acknowledged, retried, dead-lettered) or given
        back, outside any transaction, with the batch's Outcome: its counts, the
        envelopes whose handler ran and committed, and the seconds it took.

        Always called, also when processing raised (the database or the broker went
        away): then with the Outcome so far, the rest counted in `released`.
        """

    def after_dead_letter(self, runtime: ConsumerRuntime, delivery: Delivery, reason: str) -> None:
        """Called after `delivery` was moved to its dead-letter queue for `reason`, once
        that is final (a group transaction it was dead-lettered in has committed),
        outside any transaction. `delivery.envelope` is None for an undecodable message."""


class OnDeadLetter(ConsumerHook):
    """Call the consumer's declared `on_dead_letter(envelope, reason)`, in a transaction
    of its own, after a decodable message of it was dead-lettered; log its failure
    (the message stays in the dead letters whatever the callback does)."""

    def after_dead_letter(self, runtime: ConsumerRuntime, delivery: Delivery, reason: str) -> None:
        callback = resolve_handler(runtime.consumer.on_dead_letter)
        envelope = delivery.envelope
        if callback is None or envelope is None:
            return
        try:
            with transaction.atomic():
                callback(envelope, reason)
        except Exception:
            logger.exception(
                "consumer %s: on_dead_letter hook failed for message %s",
                runtime.consumer.name,
                envelope.message_id,
            )


def hook_target(spec: HookSpec) -> type[ConsumerHook] | ConsumerHook:
    """Return the ConsumerHook class or instance `spec` names, importing a dotted path.

    Raise ImportError if the path cannot be imported, ImproperlyConfigured if it is
    not a ConsumerHook (subclass or instance). Nothing is instantiated.
    """
    target = import_string(spec) if isinstance(spec, str) else spec
    if isinstance(target, ConsumerHook) or (
        isinstance(target, type) and issubclass(target, ConsumerHook)
    ):
        return target
    raise ImproperlyConfigured(f"consumer hook {spec!r} is not a ConsumerHook subclass or instance")


def make_hook(spec: HookSpec) -> ConsumerHook:
    """Return the hook of `spec`: a class (or the dotted path of one) instantiated
    without arguments, or an instance as given."""
    target = hook_target(spec)
    return target() if isinstance(target, type) else target


class Hooks:
    """The hooks of one runtime, called in order; a hook's exception is logged and
    swallowed, and the next hook is called all the same."""

    def __init__(self, consumer: str, hooks: Iterable[ConsumerHook]) -> None:
        self.consumer = consumer
        self.hooks = list(hooks)

    def before_process(self, runtime: ConsumerRuntime, deliveries: Sequence[Delivery]) -> None:
        self._call("before_process", runtime, deliveries)

    def after_process(self, runtime: ConsumerRuntime, outcome: Outcome) -> None:
        self._call("after_process", runtime, outcome)

    def after_dead_letter(self, runtime: ConsumerRuntime, delivery: Delivery, reason: str) -> None:
        self._call("after_dead_letter", runtime, delivery, reason)

    def _call(self, method: str, *args: Any) -> None:
        for hook in self.hooks:
            try:
                getattr(hook, method)(*args)
            except Exception:
                logger.exception(
                    "consumer %s: hook %s.%s failed", self.consumer, type(hook).__name__, method
                )


def load_hooks(consumer: Consumer, extra: Iterable[HookSpec] = ()) -> Hooks:
    """Return the hooks of a new runtime of `consumer`: its `on_dead_letter`, then
    those of QUEUES["CONSUMER_HOOKS"], of the declaration's `hooks`, and `extra`, and
    last the per-minute metrics (`queues.metrics.MetricsHook`).

    Raise ImportError or ImproperlyConfigured for a spec that names no hook (the
    system checks report them first: queues.E002, queues.E014).
    """
    from queues.metrics import MetricsHook

    specs = [*queue_settings.CONSUMER_HOOKS, *consumer.hooks, *extra]
    hooks = [OnDeadLetter(), *(make_hook(spec) for spec in specs)]
    # Last, so that it records what the other hooks counted in the Outcome's `work`.
    return Hooks(consumer.name, [*hooks, MetricsHook()])
