"""System checks over the declared topology (`manage.py check`, tag "queues").

| id | problem |
|---|---|
| queues.E001 | a topic routed to a consumed queue has no handler (neither topic nor consumer) |
| queues.E002 | a dotted path cannot be imported (handler, dead-letter callback, periodic, hook) |
| queues.E003 | a binding names an undeclared queue |
| queues.E004 | a binding names an undeclared exchange |
| queues.E005 | a binding joins an exchange and a queue on different connections |
| queues.E006 | a consumer reads an undeclared queue |
| queues.E007 | a publisher names an undeclared exchange, or one on another connection |
| queues.E008 | a published topic is routed to no queue by any binding |
| queues.E009 | two enabled publishers for one topic, or a queue named like a dead-letter queue |
| queues.E010 | a topic is delivered to two queues that both have consumers (it would run twice) |
| queues.E011 | a periodic task names an undeclared consumer |
| queues.E012 | a consumer's connection differs from its queue's |
| queues.E013 | a declaration names an unknown connection |
| queues.E014 | a consumer hook (declared, or in QUEUES["CONSUMER_HOOKS"]) is not a ConsumerHook |

Declaring the same name twice never gets this far: `declare()` raises DeclarationError.
Topics declared with a pattern name (`async.#`) are catch-all declarations and are
not checked for routing (E008, E010); declare concrete topics to have them checked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from queues import conf, registry, routing
from queues.consumer.hooks import hook_target
from queues.declarations import DEFAULT, Consumer, Topic
from queues.registry import Registry


def register() -> None:
    """Register the checks with Django (called from QueuesConfig.ready)."""
    checks.register(check_declarations, "queues")


def check_declarations(
    app_configs: Any = None, registry: Registry | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Return the problems of the declared topology (the current registry by default)."""
    reg = registry or _current()
    errors: list[checks.CheckMessage] = []
    errors += _connections(reg)
    if any(e.id == "queues.E013" for e in errors):
        return errors  # the rest needs resolvable connections
    errors += _handlers_importable(reg)
    errors += _hooks(reg)
    errors += _bindings(reg)
    errors += _consumers(reg)
    errors += _publishers(reg)
    errors += _routing(reg)
    errors += _duplicates(reg)
    errors += _periodics(reg)
    return errors


def _current() -> Registry:
    return registry.current()


def _error(msg: str, code: int, obj: Any, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, obj=obj, id=f"queues.E{code:03d}")


def _connections(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    items: list[Any] = [
        *reg.exchanges.values(),
        *reg.queues.values(),
        *reg.publishers.values(),
        *reg.consumers.values(),
    ]
    for item in items:
        try:
            conf.resolve_connection(item.connection)
        except ImproperlyConfigured as exc:
            errors.append(
                _error(str(exc), 13, item, hint=f"Use one of {conf.CONNECTIONS} or {DEFAULT!r}.")
            )
    return errors


def _handlers_importable(reg: Registry) -> list[checks.CheckMessage]:
    paths: list[tuple[Any, Any]] = []
    paths += [(t, t.handler) for t in reg.topics.values()]
    paths += [(c, c.handler) for c in reg.consumers.values()]
    paths += [(c, c.batch_handler) for c in reg.consumers.values()]
    paths += [(c, c.on_dead_letter) for c in reg.consumers.values()]
    paths += [(c, c.on_requeue) for c in reg.consumers.values()]
    paths += [(p, p.func) for p in reg.periodics.values()]
    errors: list[checks.CheckMessage] = []
    for obj, path in paths:
        if isinstance(path, str):
            try:
                import_string(path)
            except ImportError as exc:
                errors.append(
                    _error(
                        f"{type(obj).__name__} {_name(obj)!r}: cannot import {path!r} ({exc})",
                        2,
                        obj,
                    )
                )
    return errors


def _hooks(reg: Registry) -> list[checks.CheckMessage]:
    specs: list[tuple[Any, str, Any]] = [
        (c, f"Consumer {c.name!r}", spec) for c in reg.consumers.values() for spec in c.hooks
    ]
    specs += [
        (None, "QUEUES['CONSUMER_HOOKS']", spec) for spec in conf.queue_settings.CONSUMER_HOOKS
    ]
    errors: list[checks.CheckMessage] = []
    for obj, where, spec in specs:
        try:
            hook_target(spec)
        except ImportError as exc:
            errors.append(_error(f"{where}: cannot import hook {spec!r} ({exc})", 2, obj))
        except ImproperlyConfigured as exc:
            errors.append(
                _error(
                    f"{where}: {exc}", 14, obj, hint="Subclass queues.consumer.hooks.ConsumerHook."
                )
            )
    return errors


def _bindings(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for b in reg.bindings.values():
        if b.queue not in reg.queues:
            errors.append(
                _error(
                    f"binding {b.id!r} routes to undeclared queue {b.queue!r}",
                    3,
                    b,
                    hint="Declare the Queue or fix the binding's queue name.",
                )
            )
        if b.exchange not in reg.exchanges:
            errors.append(
                _error(
                    f"binding {b.id!r} is on undeclared exchange {b.exchange!r}",
                    4,
                    b,
                    hint="Declare the Exchange or fix the binding's exchange name.",
                )
            )
        if b.queue in reg.queues and b.exchange in reg.exchanges:
            queue_conn = conf.resolve_connection(reg.queues[b.queue].connection)
            exchange_conn = conf.resolve_connection(reg.exchanges[b.exchange].connection)
            if queue_conn != exchange_conn:
                errors.append(
                    _error(
                        f"binding {b.id!r} joins exchange {b.exchange!r} ({exchange_conn}) "
                        f"to queue {b.queue!r} ({queue_conn})",
                        5,
                        b,
                        hint="An exchange only routes to queues on its own connection.",
                    )
                )
    return errors


def _consumers(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for c in reg.consumers.values():
        if c.queue not in reg.queues:
            errors.append(
                _error(
                    f"consumer {c.name!r} reads undeclared queue {c.queue!r}",
                    6,
                    c,
                    hint="Declare the Queue or fix the consumer's queue name.",
                )
            )
        elif c.connection != DEFAULT:
            mine = conf.resolve_connection(c.connection)
            theirs = reg.queue_connection(c.queue)
            if mine != theirs:
                errors.append(
                    _error(
                        f"consumer {c.name!r} uses connection {mine!r} but queue {c.queue!r} "
                        f"is on {theirs!r}",
                        12,
                        c,
                        hint="Leave the consumer's connection 'default'.",
                    )
                )
    return errors


def _publishers(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for p in reg.publishers.values():
        if p.disabled:
            continue
        exchange = reg.exchanges.get(p.exchange)
        if exchange is None:
            errors.append(
                _error(f"publisher of {p.topic!r} names undeclared exchange {p.exchange!r}", 7, p)
            )
        elif conf.resolve_connection(exchange.connection) != conf.resolve_connection(p.connection):
            errors.append(
                _error(
                    f"publisher of {p.topic!r} uses connection {p.connection!r} but exchange "
                    f"{p.exchange!r} is on {exchange.connection!r}",
                    7,
                    p,
                )
            )
    return errors


def _concrete_topics(reg: Registry) -> list[Topic]:
    return [t for t in reg.topics.values() if not routing.is_pattern(t.name)]


def _destinations(reg: Registry, topic: str) -> list[str] | None:
    """Return the queues `topic` is delivered to, or None if it has no publisher."""
    try:
        pub = reg.publisher(topic)
    except Exception:
        return None
    return reg.routes(pub.exchange, topic)


def _consumers_of(reg: Registry) -> dict[str, list[Consumer]]:
    by_queue: dict[str, list[Consumer]] = defaultdict(list)
    for c in reg.consumers.values():
        by_queue[c.queue].append(c)
    return by_queue


def _routing(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    consumers_of = _consumers_of(reg)
    for topic in _concrete_topics(reg):
        destinations = _destinations(reg, topic.name)
        if destinations is not None and not destinations:
            errors.append(
                _error(
                    f"topic {topic.name!r} is published but no binding routes it to a queue",
                    8,
                    topic,
                    hint="Add a Binding whose pattern matches the topic.",
                )
            )
        # E001: every consumer that will receive the topic needs a handler for it.
        queues = (
            destinations
            if destinations is not None
            else [b.queue for b in reg.bindings.values() if routing.matches(b.topic, topic.name)]
        )
        for queue in dict.fromkeys(queues):
            for c in consumers_of.get(queue, []):
                if topic.handler is None and c.handler is None and c.batch_handler is None:
                    errors.append(
                        _error(
                            f"topic {topic.name!r} reaches consumer {c.name!r} but neither has a "
                            "handler",
                            1,
                            topic,
                            hint="Give the Topic or the Consumer a handler.",
                        )
                    )
        # E010: delivered to two consumed queues, unless the extra consumers opted in.
        if destinations:
            strict = {
                q: [c for c in consumers_of.get(q, []) if not c.allow_shared_topics]
                for q in destinations
            }
            consumed = sorted(q for q, cs in strict.items() if cs)
            if len(consumed) > 1:
                names = ", ".join(c.name for q in consumed for c in strict[q])
                errors.append(
                    _error(
                        f"topic {topic.name!r} is delivered to queues {consumed} that all have "
                        f"consumers ({names}); each message would be processed once per queue",
                        10,
                        topic,
                        hint="Narrow the bindings, or set Consumer(allow_shared_topics=True) on "
                        "the consumers meant to receive copies.",
                    )
                )
    return errors


def _duplicates(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    enabled: dict[str, list[str]] = defaultdict(list)
    for p in reg.publishers.values():
        if not p.disabled:
            enabled[p.topic].append(p.connection)
    for topic, connections in enabled.items():
        if len(connections) > 1:
            errors.append(
                _error(
                    f"topic {topic!r} has {len(connections)} enabled publishers ({connections})",
                    9,
                    topic,
                    hint="Only one connection may be enabled per topic; disable the others.",
                )
            )
    for q in reg.queues.values():
        if q.dead_letter_queue in reg.queues:
            errors.append(
                _error(
                    f"queue {q.dead_letter_queue!r} clashes with the dead-letter queue "
                    f"of {q.name!r}",
                    9,
                    reg.queues[q.dead_letter_queue],
                )
            )
    return errors


def _periodics(reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = [
        _error(f"periodic task {p.name!r} names undeclared consumer {p.consumer!r}", 11, p)
        for p in reg.periodics.values()
        if p.consumer is not None and p.consumer not in reg.consumers
    ]
    return errors


def _name(obj: Any) -> str:
    return str(getattr(obj, "name", None) or getattr(obj, "id", None) or getattr(obj, "topic", "?"))
