"""Dead letters on both transports: a message a real consumer gave up on is listed with its
reason, sent back to its queue (and then processed once), or discarded; each action is
recorded with who took it. `queues.dead_letters` and `manage.py queue_dead_letters`."""

from __future__ import annotations

import json
import time

import pika
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from queues import dead_letters, publish, registry
from queues.conf import queue_settings
from queues.consumer import ConsumerRuntime
from queues.exceptions import PublishError
from queues.models import OperatorAction, QueueMessage
from tests.fixtures.queues import simple_topology

pytestmark = pytest.mark.django_db

MAX_TRIALS = 3


class Handler:
    """A handler that fails while `poisoned`, and remembers what it processed."""

    def __init__(self) -> None:
        self.poisoned = True
        self.processed: list[str] = []

    def __call__(self, envelope) -> None:
        if self.poisoned:
            raise ValueError(f"cannot digest order {envelope.body.get('n')}")
        self.processed.append(envelope.message_id)


@pytest.fixture
def world(transport_kind, make_transport, unique):
    handler = Handler()
    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    return {**names, "handler": handler, "kind": transport_kind}


def consume(world) -> ConsumerRuntime:
    runtime = ConsumerRuntime(
        world["consumer"], max_idle_time=0.6, sleep=0.1, max_trials=MAX_TRIALS
    )
    runtime.run()
    return runtime


def eventually(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def poison(world, count: int = 1, topic: str = "orders.placed") -> list[str]:
    ids = [publish(topic, {"n": n, "note": "<b>bold</b>"}, {"store_id": 1}) for n in range(count)]
    runtime = consume(world)
    assert runtime.result.dead == count
    return ids


def test_a_poison_message_is_listed_with_its_reason_sent_back_and_then_processed_once(world):
    (message_id,) = poison(world)
    queue = world["queue"]

    assert eventually(lambda: dead_letters.count(queue) == 1)
    page = dead_letters.list_dead(queue)
    (letter,) = page.letters
    assert (letter.queue, letter.message_id, letter.topic) == (queue, message_id, "orders.placed")
    assert letter.headers == {"store_id": 1}
    assert json.loads(letter.body) == {"n": 0, "note": "<b>bold</b>"}
    assert "failed 3 times" in letter.reason and "cannot digest order 0" in letter.reason
    assert letter.decodable and not page.more
    assert letter.dead_at is not None  # on RabbitMQ too: the transport notes when
    assert abs((timezone.now() - letter.dead_at).total_seconds()) < 60
    assert dead_letters.count(queue) == 1, "listing takes nothing away"

    world["handler"].poisoned = False  # the cause is fixed
    result = dead_letters.requeue(queue, [letter.key], actor="alice")

    assert (result.done, result.remaining) == (1, 0)
    assert eventually(lambda: dead_letters.count(queue) == 0)
    action = OperatorAction.objects.get()
    assert (action.actor, action.kind, action.target, action.count) == (
        "alice",
        "requeue",
        queue,
        1,
    )
    assert action.detail["keys"] == [letter.key]
    runtime = consume(world)
    assert world["handler"].processed == [message_id], "processed once, under its own id"
    assert (runtime.result.processed, runtime.result.dead) == (1, 0)
    assert dead_letters.count(queue) == 0


def test_sent_back_messages_start_their_trials_again(world):
    poison(world)
    dead_letters.requeue(world["queue"], None, actor="alice")

    runtime = consume(world)  # still poisoned: it takes all its trials again

    assert (runtime.result.failures, runtime.result.dead) == (MAX_TRIALS, 1)
    assert eventually(lambda: dead_letters.count(world["queue"]) == 1)


def test_discarded_dead_letters_are_gone_and_the_action_is_recorded(world):
    poison(world, 2)
    poison(world, 1, topic="orders.cancelled")
    queue = world["queue"]
    assert eventually(lambda: dead_letters.count(queue) == 3)
    assert dead_letters.count(queue, "orders.cancelled") == 1

    first = dead_letters.list_dead(queue, topic="orders.placed").letters[0]
    one = dead_letters.discard(queue, [first.key], actor="bob")
    rest = dead_letters.discard(queue, None, topic="orders.placed", actor="bob")

    assert (one.done, rest.done, rest.remaining) == (1, 1, 0)
    assert eventually(lambda: dead_letters.count(queue) == 1)
    (left,) = dead_letters.list_dead(queue).letters
    assert left.topic == "orders.cancelled"
    recorded = list(OperatorAction.objects.order_by("id").values_list("actor", "kind", "count"))
    assert recorded == [("bob", "discard", 1), ("bob", "discard", 1)]
    assert OperatorAction.objects.order_by("id").last().detail["topic"] == "orders.placed"
    world["handler"].poisoned = False
    assert consume(world).result.processed == 0, "discarded messages never come back"


def test_a_send_back_is_bounded_and_says_how_many_remain(world, settings):
    poison(world, 5)
    queue = world["queue"]

    result = dead_letters.requeue(queue, None, actor="alice", limit=2)

    assert (result.done, result.remaining) == (2, 3)
    assert eventually(lambda: dead_letters.count(queue) == 3)
    assert OperatorAction.objects.get().detail["remaining"] == 3


def test_listing_pages_through_the_dead_letters_in_order_and_loses_none(world):
    ids = poison(world, 4)
    queue = world["queue"]

    first = dead_letters.list_dead(queue, limit=2)
    second = dead_letters.list_dead(queue, limit=2, after=first.letters[-1].key)

    assert [d.message_id for d in first.letters + second.letters] == ids
    assert first.more and not second.more
    assert eventually(lambda: dead_letters.count(queue) == 4)


def test_an_undecodable_message_is_listed_with_its_raw_text(world, transport_kind):
    queue = world["queue"]
    if transport_kind == "db":
        QueueMessage.objects.create(
            queue=queue, topic="orders.placed", message_id="", body="<i>not an object</i>"
        )
    else:
        connection = pika.BlockingConnection(pika.URLParameters(queue_settings.AMQP_URL))
        connection.channel().basic_publish(
            "", queue, b"\xff\xfe<i>not json</i>", pika.BasicProperties(delivery_mode=2)
        )
        connection.close()

    assert consume(world).result.dead == 1

    (letter,) = eventually(lambda: dead_letters.list_dead(queue).letters)
    assert not letter.decodable
    assert "undecodable" in letter.reason
    assert "<i>not" in letter.body
    if transport_kind == "amqp":
        assert letter.body.startswith("\ufffd") and letter.key.startswith("sha1:")
    assert dead_letters.discard(queue, [letter.key], actor="alice").done == 1


def test_keys_that_match_nothing_change_nothing_and_record_nothing(world):
    poison(world)
    result = dead_letters.requeue(world["queue"], ["999999:nope", "nope"], actor="alice")

    assert (result.done, result.remaining) == (0, 0)
    assert not OperatorAction.objects.exists()
    assert eventually(lambda: dead_letters.count(world["queue"]) == 1)


def test_an_undeclared_queue_is_a_readable_error(queue_registry):
    with pytest.raises(dead_letters.DeadLetterError, match="no declared queue is named 'nope'"):
        dead_letters.list_dead("nope")


# -- the command ------------------------------------------------------------------------------


def test_the_command_lists_sends_back_and_discards_recording_the_actor(world, capsys):
    ids = poison(world, 2)
    queue = world["queue"]
    assert eventually(lambda: dead_letters.count(queue) == 2)

    call_command("queue_dead_letters")
    assert f"{queue}: 2 dead letter(s)" in capsys.readouterr().out
    call_command("queue_dead_letters", queue, "--list")
    listing = capsys.readouterr().out
    assert ids[0] in listing and "cannot digest order 0" in listing

    key = dead_letters.list_dead(queue).letters[0].key
    call_command("queue_dead_letters", queue, "--requeue", key, "--actor", "carol")
    assert "1 dead letter(s) sent back to" in capsys.readouterr().out
    call_command("queue_dead_letters", queue, "--discard-all")
    assert "1 dead letter(s) discarded from" in capsys.readouterr().out

    actions = list(OperatorAction.objects.order_by("id").values_list("actor", "kind"))
    assert actions[0] == ("carol", "requeue") and actions[1][1] == "discard"
    assert actions[1][0]  # the OS user
    with pytest.raises(CommandError, match="no declared queue"):
        call_command("queue_dead_letters", "nope", "--requeue-all")
    with pytest.raises(CommandError, match="choose one of"):
        call_command("queue_dead_letters", queue, "--requeue-all", "--discard-all")


@pytest.mark.parametrize("transport_kind", ["amqp"], indirect=True)
def test_a_send_back_that_cannot_reach_the_queue_leaves_every_dead_letter_in_place(world):
    poison(world, 2)
    queue = world["queue"]
    connection = pika.BlockingConnection(pika.URLParameters(queue_settings.AMQP_URL))
    connection.channel().queue_delete(queue)  # the original queue is gone: nowhere to go
    connection.close()

    with pytest.raises(PublishError, match="none was removed from the dead letters"):
        dead_letters.requeue(queue, None, actor="alice")

    assert eventually(lambda: dead_letters.count(queue) == 2)
    assert not OperatorAction.objects.exists()


@pytest.mark.parametrize("transport_kind", ["amqp"], indirect=True)
def test_looking_again_shows_the_same_messages_in_the_same_order(world):
    ids = poison(world, 3)
    queue = world["queue"]

    with dead_letters._amqp() as one, dead_letters._amqp() as two:
        assert [
            d.message_id for d in one.browse(queue, topic=None, limit=10, after=None).letters
        ] == ids
        assert [
            d.message_id for d in two.browse(queue, topic=None, limit=10, after=None).letters
        ] == ids

    assert eventually(lambda: dead_letters.count(queue) == 3)
