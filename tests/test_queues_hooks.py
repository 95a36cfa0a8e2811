"""Runtime hooks: what they hear of each batch and dead letter, on both transports, and
that a failing hook costs nothing but a logged traceback."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from queues import Topic, publish, publish_many, registry
from queues.consumer import ConsumerHook, ConsumerRuntime, Outcome
from queues.exceptions import TransportError
from queues.models import QueueMessage
from queues.transports.db import DbTransport
from tests.fixtures.queues import simple_topology

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Recorder(ConsumerHook):
    """Remember every call with what could be seen at that moment."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.batches: list[tuple[int, Outcome]] = []  # (deliveries received, outcome)
        self.dead_letters: list[tuple[str, str]] = []
        self.in_transaction: list[bool] = []
        self.committed: list[int] = []  # per batch: handlers' rows visible after it

    def before_process(self, runtime, deliveries):
        self.calls.append(("before", len(deliveries)))
        self._received = len(deliveries)
        self.in_transaction.append(connection.in_atomic_block)

    def after_process(self, runtime, outcome):
        self.calls.append(("after", outcome))
        self.batches.append((self._received, outcome))
        self.in_transaction.append(connection.in_atomic_block)
        names = [f"handled {e.body['n']}" for e in outcome.envelopes]
        self.committed.append(Group.objects.filter(name__in=names).count())

    def after_dead_letter(self, runtime, delivery, reason):
        self.calls.append(("dead", reason))
        self.dead_letters.append(
            (delivery.envelope.message_id if delivery.envelope else "?", reason)
        )
        self.in_transaction.append(connection.in_atomic_block)


def record_work(env) -> None:
    if env.body.get("poison"):
        raise RuntimeError("poison")
    Group.objects.create(name=f"handled {env.body['n']}")  # unique: a second commit would fail


def _consume(name: str, *hooks: Any, **options: Any) -> ConsumerRuntime:
    """Run the consumer here until it has dealt with `max_messages` (the idle time
    only ends a run that went wrong)."""
    options = {"max_idle_time": 5, "sleep": 0.2, "register": False, **options}
    runtime = ConsumerRuntime(name, hooks=list(hooks), **options)
    runtime.run()
    return runtime


def _totals(outcomes: list[Outcome]) -> tuple[int, int, int, int, int, int]:
    total = Outcome()
    for outcome in outcomes:
        total += outcome
    return (
        total.received,
        total.processed,
        total.duplicates,
        total.failures,
        total.dead,
        total.released,
    )


def _wait_until_queued(make_transport, queue: str, count: int) -> None:
    transport = make_transport()
    deadline = time.monotonic() + 5
    while transport.count(queue) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert transport.count(queue) == count


def test_hooks_hear_of_each_received_batch_once_after_it_committed_with_its_counts(
    transport_kind, make_transport, unique
):
    names = simple_topology(unique, transport_kind, handler=record_work)
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("t", {"n": n}, None) for n in range(5)])
    publish("t", {"n": "twice"}, message_id="same-id")
    publish("t", {"n": "twice"}, message_id="same-id")
    publish("t", {"n": "bad", "poison": True})
    recorder = Recorder()

    runtime = _consume(names["consumer"], recorder, max_trials=1, max_messages=8)

    kinds = [kind for kind, _ in recorder.calls if kind != "dead"]
    assert kinds and kinds == ["before", "after"] * (len(kinds) // 2), (
        "one before and one after per batch"
    )
    assert all(
        received == outcome.received + outcome.released for received, outcome in recorder.batches
    )
    outcomes = [outcome for _, outcome in recorder.batches]
    assert _totals(outcomes) == (8, 6, 1, 1, 1, 0)
    result = runtime.result
    assert (result.received, result.processed, result.duplicates, result.failures, result.dead) == (
        8,
        6,
        1,
        1,
        1,
    )
    ran = sorted(str(e.body["n"]) for outcome in outcomes for e in outcome.envelopes)
    assert ran == ["0", "1", "2", "3", "4", "twice"]
    assert recorder.committed == [len(outcome.envelopes) for outcome in outcomes], (
        "their work was committed"
    )
    assert not any(recorder.in_transaction), "hooks run outside any transaction"
    assert all(outcome.seconds > 0 for outcome in outcomes)


def test_a_group_that_rolls_back_and_runs_again_one_by_one_reports_each_message_once(
    transport_kind, make_transport, unique, caplog
):
    told: list[str] = []
    names = simple_topology(
        unique, transport_kind, handler=None, on_dead_letter=lambda env, reason: told.append(reason)
    )
    registry.declare(Topic("work.item", handler=record_work))
    make_transport().setup(registry.topology(transport_kind))
    publish_many(
        [
            ("work.item", {"n": 0}, None),
            ("nobody.handles.this", {"n": "unhandled"}, None),  # dead-lettered inside the group
            ("work.item", {"n": 1, "poison": True}, None),  # fails: the group rolls back
            ("work.item", {"n": 2}, None),
        ]
    )
    _wait_until_queued(make_transport, names["queue"], 4)
    recorder = Recorder()

    runtime = _consume(names["consumer"], recorder, max_trials=1, commit_interval=5, max_messages=4)

    assert "group of 3 rolled back (RuntimeError: poison)" in caplog.text
    ((received, outcome),) = recorder.batches
    assert received == 4
    assert (
        outcome.received,
        outcome.processed,
        outcome.failures,
        outcome.dead,
        outcome.released,
    ) == (4, 2, 1, 2, 0)
    assert sorted(e.body["n"] for e in outcome.envelopes) == [0, 2]
    assert sorted(Group.objects.values_list("name", flat=True)) == ["handled 0", "handled 2"]
    reasons = sorted(reason for _, reason in recorder.dead_letters)
    assert len(reasons) == 2, f"each dead letter is told once: {reasons}"
    assert reasons[0].startswith("failed 1 times; last error: RuntimeError: poison")
    assert reasons[1].startswith("topic 'nobody.handles.this' is not handled")
    assert sorted(told) == reasons, "the consumer's on_dead_letter hears of each once too"
    assert [reason for _, reason in outcome.dead_letters] == [
        reason for kind, reason in recorder.calls if kind == "dead"
    ]
    assert (runtime.result.received, runtime.result.processed, runtime.result.dead) == (4, 2, 2)


def test_after_dead_letter_hears_of_a_poison_message_once_it_is_in_the_dead_letters(
    transport_kind, make_transport, unique
):
    def handler(env):
        raise ValueError("cannot digest this")

    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    dlq = registry.queues[names["queue"]].dead_letter_queue
    seen_dead: list[int] = []

    class DeadLetterWatcher(ConsumerHook):
        def after_dead_letter(self, runtime, delivery, reason):
            if transport_kind == "db":
                seen_dead.append(
                    QueueMessage.objects.filter(queue=names["queue"], status="dead").count()
                )
            else:
                seen_dead.append(make_transport().count(dlq))

    recorder = Recorder()
    message_id = publish("t", {"n": 7})

    runtime = _consume(names["consumer"], DeadLetterWatcher, recorder, max_trials=2, max_messages=2)

    assert recorder.dead_letters == [
        (message_id, "failed 2 times; last error: ValueError: cannot digest this")
    ]
    assert seen_dead == [1], "the message was in the dead letters when the hook was called"
    assert (runtime.result.failures, runtime.result.dead) == (2, 1)


class Exploding(ConsumerHook):
    def before_process(self, runtime, deliveries):
        raise RuntimeError("before")

    def after_process(self, runtime, outcome):
        raise RuntimeError("after")

    def after_dead_letter(self, runtime, delivery, reason):
        raise RuntimeError("dead letter")


def test_a_failing_hook_neither_stops_the_consumer_nor_loses_a_message(
    transport_kind, make_transport, unique, caplog
):
    names = simple_topology(unique, transport_kind, handler=record_work)
    make_transport().setup(registry.topology(transport_kind))
    publish_many(
        [("t", {"n": n}, None) for n in range(3)] + [("t", {"n": "bad", "poison": True}, None)]
    )
    recorder = Recorder()

    runtime = _consume(names["consumer"], Exploding, recorder, max_trials=1, max_messages=4)

    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "handled 0",
        "handled 1",
        "handled 2",
    ]
    assert (runtime.result.processed, runtime.result.dead) == (3, 1)
    assert make_transport().count(names["queue"]) == 0
    assert _totals([outcome for _, outcome in recorder.batches])[:5] == (4, 3, 0, 1, 1), (
        "the next hook still ran"
    )
    assert len(recorder.dead_letters) == 1
    failures = [r for r in caplog.records if "hook Exploding." in r.getMessage()]
    assert {r.getMessage().split("hook ")[1] for r in failures} == {
        "Exploding.before_process failed",
        "Exploding.after_process failed",
        "Exploding.after_dead_letter failed",
    }
    assert all(r.exc_info is not None for r in failures), "logged with its traceback"


class FlakyRetry(DbTransport):
    """A db transport whose first retry fails as if the broker had gone away."""

    failed_once = False

    def retry(self, delivery, error):
        if not self.failed_once:
            self.failed_once = True
            raise TransportError("the broker went away")
        super().retry(delivery, error)


def test_after_process_hears_of_a_batch_that_failed_midway_with_what_was_done_so_far(
    queue_registry, unique
):
    attempts: list[int] = []

    def handler(env):
        if env.body["n"] == 1 and not attempts:
            attempts.append(1)
            raise RuntimeError("the first time only")
        Group.objects.create(name=f"handled {env.body['n']}")

    names = simple_topology(unique, "db", handler=handler)
    publish_many([("t", {"n": n}, None) for n in range(3)])
    recorder = Recorder()

    runtime = _consume(
        names["consumer"], recorder, transport=FlakyRetry(), commit_interval=0, max_messages=3
    )

    first, *later = [outcome for _, outcome in recorder.batches]
    assert (first.received, first.processed, first.released) == (1, 1, 2)
    assert [e.body["n"] for e in first.envelopes] == [0]
    assert _totals(later)[:3] == (2, 2, 0), "the two given back ran later"
    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "handled 0",
        "handled 1",
        "handled 2",
    ]
    assert (runtime.result.received, runtime.result.processed, runtime.result.failures) == (3, 3, 0)


# -- where hooks come from -----------------------------------------------------------

CALLS: list[tuple[str, int]] = []


class Named(ConsumerHook):
    def before_process(self, runtime, deliveries):
        CALLS.append((type(self).__name__, id(self)))


class FromSettings(Named):
    pass


class Declared(Named):
    pass


class ByPath(Named):
    pass


class Given(Named):
    pass


def test_hooks_declared_on_the_consumer_and_in_the_settings_both_attach(
    queue_registry, unique, settings
):
    settings.QUEUES = {**settings.QUEUES, "CONSUMER_HOOKS": [f"{__name__}.FromSettings"]}
    shared = Named()
    names = simple_topology(
        unique, "db", handler=record_work, hooks=[Declared, f"{__name__}.ByPath", shared]
    )
    CALLS.clear()

    for n in range(2):
        publish("t", {"n": n})
        _consume(names["consumer"], Given, max_messages=1)

    order = [name for name, _ in CALLS]
    assert order == ["FromSettings", "Declared", "ByPath", "Named", "Given"] * 2
    instances = {name: {ident for other, ident in CALLS if other == name} for name in order}
    assert [len(instances[name]) for name in ("FromSettings", "Declared", "ByPath", "Given")] == [
        2,
        2,
        2,
        2,
    ], "a class is instantiated once per runtime"
    assert instances["Named"] == {id(shared)}, "an instance is used as given"
