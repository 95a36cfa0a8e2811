"""Dead letters: look at the messages each declared queue set aside, send them back, discard them.

    from queues import dead_letters
    dead_letters.count("async.operations.all")
    page = dead_letters.list_dead("async.operations.all", topic="async.x", limit=50)
    dead_letters.requeue("async.operations.all", [letter.key], actor="alice")
    dead_letters.discard("async.operations.all", None, topic="async.x", actor="alice")

Both transports:

- `db`: a dead letter is a `QueueMessage` row with status `dead` and its reason in
  `error`. Its key is `<row id>:<message_id>`. Sending back flips the rows to
  `waiting` with `trials` 0 in one transaction, together with the OperatorAction.
- `amqp`: a dead letter is a message in `<queue>.dlq`, its reason in the
  `x-dead-letter-reason` header (or RabbitMQ's `x-death`). Its key is the message
  id (`sha1:<digest of the body>` for a message without one). Listing reads the
  queue with `basic.get` without acknowledging, then gives every message back: nothing
  is lost, at most a few hundred are read per look (`SCAN_LIMIT`). Sending back
  publishes a copy with publisher confirms straight to the original queue (the
  default exchange: no other queue bound to its topic gets one), then acknowledges the
  dead one. See `queues.transports.amqp.dead_letters`.

Crash safety: a message is removed from the dead letters only after it is back in
its queue. On amqp a send-back cut short (the process killed, the connection lost
between the confirm and the acknowledgement) leaves a message both back in its queue
and still dead, never neither; the consumer's de-duplication by message id then
runs it once, and sending the leftover back again is harmless. On db it is one
transaction: all or nothing.

Sending back keeps the message id, topic and the caller's headers (so de-duplication
still works) and resets the trials. At most `batch_limit()` messages
(QUEUES["DEAD_LETTER_BATCH"], 500 by default) are sent back or discarded per call;
the result says how many remain, so the caller repeats it for the rest. Each call
that changed something records an `OperatorAction` with who did it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction
from django.db.models import Count
from django.utils import timezone

from queues import registry
from queues.conf import queue_settings
from queues.declarations import dead_letter_queue, resolve_handler
from queues.exceptions import QueueError, TransportError
from queues.models import OperatorAction, QueueMessage

if TYPE_CHECKING:
    from queues.transports.amqp.dead_letters import DeadLetterBrowser

SCAN_LIMIT = 500  # amqp: messages read per look at a dead-letter queue
MAX_RECORDED_KEYS = 100  # keys kept in an OperatorAction's detail
Status = QueueMessage.Status


class DeadLetterError(QueueError):
    """A request about dead letters that cannot be served (an undeclared queue, bad keys)."""


@dataclass(frozen=True)
class DeadLetter:
    """One message of a dead-letter queue, ready to show.

    `queue` is the original queue (where sending back puts it); `key` is the handle
    `requeue` and `discard` take; `headers` are the caller's (not the transport's);
    `body` is pretty JSON, or the raw bytes decoded with replacement characters when
    the message could not be decoded (`decodable` False).
    """

    queue: str
    key: str
    message_id: str
    topic: str
    headers: dict[str, Any]
    body: str
    reason: str
    dead_at: datetime | None
    trials: int
    decodable: bool = True
    published_at: datetime | None = None


@dataclass(frozen=True)
class Page:
    """Some dead letters of a queue: `more` says whether others follow (pass the last
    key as `after`); `scanned_all` is False when an amqp look stopped at SCAN_LIMIT."""

    queue: str
    letters: list[DeadLetter]
    more: bool = False
    scanned_all: bool = True


@dataclass(frozen=True)
class Result:
    """What `requeue` or `discard` did: `done` messages, `remaining` still matching."""

    queue: str
    kind: str  # OperatorAction.Kind
    done: int
    remaining: int
    keys: list[str] = field(default_factory=list)


def batch_limit() -> int:
    """Return the most messages one call sends back or discards (QUEUES["DEAD_LETTER_BATCH"])."""
    return max(1, int(queue_settings.DEAD_LETTER_BATCH))


def queues() -> list[str]:
    """Return the names of the declared queues, each of which has a dead-letter queue."""
    return sorted(registry.current().queues)


def connection_of(queue: str) -> str:
    """Return the transport (`db`/`amqp`) of a declared queue; DeadLetterError otherwise."""
    if queue not in registry.current().queues:
        known = ", ".join(queues()) or "none"
        raise DeadLetterError(f"no declared queue is named {queue!r} (declared: {known})")
    return registry.current().queue_connection(queue)


def count(queue: str, topic: str | None = None) -> int:
    """Return how many dead letters `queue` holds (of `topic`, if given).

    On amqp with a topic, only the first SCAN_LIMIT messages are looked at.
    """
    if connection_of(queue) == "amqp":
        with _amqp() as browser:
            return browser.count(queue, topic=topic, scan_limit=SCAN_LIMIT)
    try:
        return _dead_rows(queue, topic).count()
    except DatabaseError as exc:
        raise TransportError(f"counting the dead letters of {queue!r} failed: {exc}") from exc


def counts() -> dict[str, int | None]:
    """Return the dead letters of every declared queue (None where its transport failed)."""
    found: dict[str, int | None] = {}
    db_queues = [q for q in queues() if connection_of(q) == "db"]
    amqp_queues = [q for q in queues() if connection_of(q) == "amqp"]
    if db_queues:
        try:
            rows = (
                QueueMessage.objects.filter(queue__in=db_queues, status=Status.DEAD)
                .values_list("queue")
                .order_by()
                .annotate(n=Count("id"))
            )
            by_queue = dict(rows)
            found.update({q: by_queue.get(q, 0) for q in db_queues})
        except DatabaseError:
            found.update(dict.fromkeys(db_queues))
    if amqp_queues:
        browser = _kept_amqp()  # asked every second by the live page: one connection kept
        for queue in amqp_queues:
            try:
                found[queue] = browser.count(queue)
            except TransportError:
                found[queue] = None
    return {q: found.get(q) for q in queues()}


def list_dead(
    queue: str, *, topic: str | None = None, limit: int = 50, after: str | None = None
) -> Page:
    """Return up to `limit` dead letters of `queue` (of `topic`), oldest first, after key
    `after` if given. Nothing is removed from the dead-letter queue."""
    limit = max(1, min(int(limit), SCAN_LIMIT))
    if connection_of(queue) == "amqp":
        with _amqp() as browser:
            return browser.browse(queue, topic=topic, limit=limit, after=after)
    rows = _dead_rows(queue, topic).order_by("id")
    if after:
        pk = _row_id(after)
        if pk is None:
            raise DeadLetterError(f"{after!r} is not a dead letter's key")
        rows = rows.filter(id__gt=pk)
    try:
        found = list(rows[: limit + 1])
    except DatabaseError as exc:
        raise TransportError(f"listing the dead letters of {queue!r} failed: {exc}") from exc
    return Page(queue, [_from_row(row) for row in found[:limit]], more=len(found) > limit)


def requeue(
    queue: str,
    keys: Sequence[str] | None = None,
    *,
    topic: str | None = None,
    actor: str,
    limit: int | None = None,
) -> Result:
    """Send dead letters back to `queue`: those of `keys`, or (None) all of `topic` or
    all; at most `limit` (and batch_limit()). Their trials start again at 0."""
    return _act(OperatorAction.Kind.REQUEUE, queue, keys, topic, actor, limit)


def discard(
    queue: str,
    keys: Sequence[str] | None = None,
    *,
    topic: str | None = None,
    actor: str,
    limit: int | None = None,
) -> Result:
    """Delete dead letters of `queue` for good: those of `keys`, or all (of `topic`)."""
    return _act(OperatorAction.Kind.DISCARD, queue, keys, topic, actor, limit)


# -- internals ---------------------------------------------------------------------------


def _act(
    kind: str,
    queue: str,
    keys: Sequence[str] | None,
    topic: str | None,
    actor: str,
    limit: int | None,
) -> Result:
    if keys is not None:
        keys = [str(k).strip() for k in keys if str(k).strip()]
        if not keys:
            raise DeadLetterError("no dead letter was chosen")
    if not actor:
        raise DeadLetterError("an action on dead letters needs the name of who takes it")
    at_most = min(limit or batch_limit(), batch_limit())
    if kind == OperatorAction.Kind.REQUEUE:
        takes_over = _requeue_handler(queue)
        if takes_over is not None:
            return _hand_over(takes_over, queue, keys, topic, actor, at_most)
    return _remove_or_requeue(kind, queue, keys, topic, actor, at_most)


def _remove_or_requeue(
    kind: str,
    queue: str,
    keys: Sequence[str] | None,
    topic: str | None,
    actor: str,
    at_most: int,
    record_as: str | None = None,
) -> Result:
    if connection_of(queue) == "amqp":
        with _amqp() as browser:
            done, remaining, acted = browser.act(
                kind, queue, keys=keys, topic=topic, limit=at_most, scan_limit=SCAN_LIMIT
            )
        if done:
            _record(record_as or kind, actor, queue, done, keys, topic, acted, remaining)
        return Result(queue, record_as or kind, done, remaining, acted)
    return _act_db(kind, queue, keys, topic, actor, at_most, record_as)


def _requeue_handler(queue: str) -> Any:
    """Return the `on_requeue` of the consumer of `queue` that declares one, or None."""
    for consumer in registry.current().consumers.values():
        if consumer.queue == queue and consumer.on_requeue is not None:
            return resolve_handler(consumer.on_requeue)
    return None


def _hand_over(
    handler: Any,
    queue: str,
    keys: Sequence[str] | None,
    topic: str | None,
    actor: str,
    limit: int,
) -> Result:
    """Send back through the consumer's `on_requeue`: it puts the work of the chosen
    (decodable) dead letters back its own way, in a transaction; then the dead copies
    are removed, recorded as one send-back. Cut short between the two, the work is back
    and the dead copies stay: sending them back again hands over work that is no
    longer failed, which the handler leaves alone (the operations app's does)."""
    wanted = set(keys) if keys is not None else None
    letters = [
        letter
        for letter in list_dead(queue, topic=topic, limit=SCAN_LIMIT).letters
        if letter.decodable
        and (wanted is None or letter.key in wanted or letter.message_id in wanted)
    ][:limit]
    if not letters:
        return Result(queue, OperatorAction.Kind.REQUEUE, 0, count(queue, topic), [])
    with transaction.atomic():
        handler([json.loads(letter.body) for letter in letters], actor)
    removed = _remove_or_requeue(
        OperatorAction.Kind.DISCARD,
        queue,
        [letter.key for letter in letters],
        None,
        actor,
        limit,
        record_as=OperatorAction.Kind.REQUEUE,
    )
    return replace(removed, remaining=count(queue, topic))


def _act_db(
    kind: str,
    queue: str,
    keys: Sequence[str] | None,
    topic: str | None,
    actor: str,
    limit: int,
    record_as: str | None = None,
) -> Result:
    rows = _dead_rows(queue, topic)
    if keys is not None:
        ids = [pk for pk in map(_row_id, keys) if pk is not None]
        bare = [k for k in keys if _row_id(k) is None]  # a message id alone
        if bare:
            ids += list(rows.filter(message_id__in=bare).values_list("id", flat=True))
        rows = rows.filter(id__in=ids)
    try:
        with transaction.atomic():
            chosen = list(rows.order_by("id").values_list("id", "message_id")[:limit])
            ids = [pk for pk, _mid in chosen]
            mine = QueueMessage.objects.filter(id__in=ids, status=Status.DEAD)
            if kind == OperatorAction.Kind.REQUEUE:
                done = mine.update(
                    status=Status.WAITING,
                    trials=0,
                    error="",
                    available_at=timezone.now(),
                    claimed_at=None,
                    claimed_by="",
                    finished_at=None,
                )
            else:
                done, _ = mine.delete()
            acted = [f"{pk}:{mid}" for pk, mid in chosen]
            remaining = rows.count()
            if done:
                _record(record_as or kind, actor, queue, done, keys, topic, acted, remaining)
    except DatabaseError as exc:
        raise TransportError(f"acting on the dead letters of {queue!r} failed: {exc}") from exc
    return Result(queue, record_as or kind, done, remaining, acted)


def _record(
    kind: str,
    actor: str,
    queue: str,
    done: int,
    keys: Sequence[str] | None,
    topic: str | None,
    acted: list[str],
    remaining: int,
) -> None:
    detail: dict[str, Any] = {
        "transport": connection_of(queue),
        "dead_letter_queue": dead_letter_queue(queue),
        "remaining": remaining,
    }
    if keys is None:
        detail["all"] = True
    if topic:
        detail["topic"] = topic
    detail["keys"] = acted[:MAX_RECORDED_KEYS]
    if len(acted) > MAX_RECORDED_KEYS:
        detail["keys_left_out"] = len(acted) - MAX_RECORDED_KEYS
    OperatorAction.objects.create(
        actor=actor[:150], kind=kind, target=queue, count=done, detail=detail
    )


def recent_actions(limit: int = 20) -> list[OperatorAction]:
    """Return the latest actions on dead letters, newest first (one query)."""
    kinds = [OperatorAction.Kind.REQUEUE, OperatorAction.Kind.DISCARD]
    return list(OperatorAction.objects.filter(kind__in=kinds)[:limit])


def _dead_rows(queue: str, topic: str | None):
    rows = QueueMessage.objects.filter(queue=queue, status=Status.DEAD)
    return rows.filter(topic=topic) if topic else rows


def _row_id(key: str) -> int | None:
    head, sep, _rest = str(key).partition(":")
    if not sep or not head.isdigit():
        return None
    return int(head)


def _from_row(row: QueueMessage) -> DeadLetter:
    decodable = (
        isinstance(row.body, dict) and isinstance(row.headers, dict) and bool(row.message_id)
    )
    return DeadLetter(
        queue=row.queue,
        key=f"{row.pk}:{row.message_id}",
        message_id=row.message_id,
        topic=row.topic,
        headers=row.headers if isinstance(row.headers, dict) else {"": row.headers},
        body=pretty(row.body),
        reason=row.error,
        dead_at=row.finished_at,
        trials=row.trials,
        decodable=decodable,
        published_at=row.created,
    )


def pretty(body: Any) -> str:
    """Return a body as indented JSON (text for anything JSON cannot show)."""
    try:
        return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(body)


def _amqp() -> DeadLetterBrowser:
    from queues.transports.amqp.dead_letters import DeadLetterBrowser

    return DeadLetterBrowser.from_settings()


_local = threading.local()


def _kept_amqp() -> DeadLetterBrowser:
    """Return this thread's browser kept open between calls (for the counts)."""
    browser = getattr(_local, "browser", None)
    if browser is None or browser.url != queue_settings.AMQP_URL:
        if browser is not None:
            browser.close()
        browser = _local.browser = _amqp()
    return browser
