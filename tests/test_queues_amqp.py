"""The amqp transport against a real RabbitMQ: confirms, routing, dead letters, quorum
queues, acknowledgements and reconnection after a dropped connection.

The shared behavioural suite (test_queues_transports.py) covers what both transports
do alike; this file covers what only RabbitMQ does. Broker restarts and killed
consumers are in test_queues_amqp_faults.py.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pika
import pytest

from queues.declarations import Binding, Exchange, Queue, Topology
from queues.exceptions import PublishError, TransportError, UnroutableError
from queues.transports.amqp import AmqpTransport, Backoff, dead_letter_queue
from tests.fixtures.queues import drain, envelope
from tests.fixtures.services import missing_service


@dataclass
class Amqp:
    """Transports and throwaway topologies for one test; all removed afterwards."""

    url: str
    unique: Callable[[str], str]
    transports: list[AmqpTransport] = field(default_factory=list)
    topologies: list[Topology] = field(default_factory=list)

    def transport(self, **options: Any) -> AmqpTransport:
        transport = AmqpTransport(self.url, **options)
        self.transports.append(transport)
        return transport

    def topology(
        self,
        bindings: dict[str, str],
        *,
        queue_type: str = "classic",
        queue_arguments: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Declare one exchange and a queue per distinct short name in `bindings`
        (pattern -> short queue name); return the exchange and the queues' real names."""
        exchange = self.unique("ex")
        queues = {short: self.unique(short) for short in dict.fromkeys(bindings.values())}
        topology = Topology(
            exchanges=(Exchange(exchange, connection="amqp"),),
            queues=tuple(
                Queue(name, connection="amqp", arguments=queue_arguments or {})
                for name in queues.values()
            ),
            bindings=tuple(
                Binding(self.unique(f"b{n}"), exchange, pattern, queues[short])
                for n, (pattern, short) in enumerate(bindings.items())
            ),
        )
        self.topologies.append(topology)
        self.transport(queue_type=queue_type).setup(topology)
        return exchange, queues

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
        cleaner = AmqpTransport(self.url)
        for topology in self.topologies:
            cleaner.teardown(topology)
        cleaner.close()


@pytest.fixture
def amqp(rabbitmq_url: str, unique: Callable[[str], str]) -> Iterator[Amqp]:
    world = Amqp(rabbitmq_url, unique)
    yield world
    world.close()


@pytest.fixture
def raw_channel(rabbitmq_url: str) -> Iterator[Any]:
    """A plain pika channel, to look at messages as they sit on the broker."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    yield connection.channel()
    connection.close()


def close_connections(role: str) -> int:
    """Have RabbitMQ close this process's `role` ("publisher"/"consumer") connections."""
    if shutil.which("rabbitmqctl") is None:
        missing_service("rabbitmqctl is not on PATH")
    wanted = f'{{"connection_name","asyncbulk {role} {socket.gethostname()} pid {os.getpid()}"}}'
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    pids = [line.split("\t")[0] for line in listing.splitlines() if wanted in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "closed by a test"],
            capture_output=True,
            timeout=30,
            check=True,
        )
    return len(pids)


def eventually(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


# -- publishing ------------------------------------------------------------------------


def test_a_confirmed_batch_is_stored_as_persistent_json_with_id_topic_and_headers(
    amqp, raw_channel
):
    exchange, queues = amqp.topology({"catalog.#": "q"})
    transport = amqp.transport()
    sent = [envelope("catalog.product.save", {"sku": f"S{n}"}, store_id=1) for n in range(500)]

    transport.publish(exchange, sent)

    assert transport.count(queues["q"]) == 500  # confirmed means stored: no waiting
    method, properties, body = raw_channel.basic_get(queues["q"], auto_ack=False)
    assert method.routing_key == "catalog.product.save"
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == sent[0].message_id
    assert properties.headers["topic_name"] == "catalog.product.save"
    assert properties.headers["store_id"] == 1
    assert body == b'{"sku":"S0"}'
    raw_channel.basic_nack(method.delivery_tag, requeue=True)
    received = {d.envelope.message_id: d.envelope for d in drain(transport, queues["q"], 500)}
    assert received == {e.message_id: e for e in sent}


def test_publish_raises_naming_the_messages_the_broker_refused(amqp):
    exchange, queues = amqp.topology(
        {"#": "q"}, queue_arguments={"x-max-length": 5, "x-overflow": "reject-publish"}
    )
    transport = amqp.transport()

    with pytest.raises(PublishError, match="refused 5 of 10 messages"):
        transport.publish(exchange, [envelope("orders.placed") for _ in range(10)])

    assert transport.count(queues["q"]) == 5
    consumer = amqp.transport()
    assert len(drain(consumer, queues["q"], 5)) == 5
    consumer.close()  # a subscribed consumer would take the next message at once
    transport.publish(exchange, [envelope("orders.placed")])  # the transport carries on
    assert transport.count(queues["q"]) == 1


def test_publishing_to_an_undeclared_exchange_raises_and_the_transport_carries_on(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()

    with pytest.raises(PublishError, match="queue_setup"):
        transport.publish(amqp.unique("nowhere"), [envelope("orders.placed")])

    transport.publish(exchange, [envelope("orders.placed")])
    assert transport.count(queues["q"]) == 1


def test_a_message_no_binding_routes_raises_unroutable_and_the_routed_ones_are_stored(amqp):
    exchange, queues = amqp.topology({"orders.*": "q"})
    transport = amqp.transport()

    with pytest.raises(
        UnroutableError, match="1 of 3 messages were routed to no queue.*customers.created"
    ):
        transport.publish(
            exchange,
            [envelope("orders.placed"), envelope("customers.created"), envelope("orders.paid")],
        )
    assert transport.count(queues["q"]) == 2


def test_a_message_no_binding_routes_is_only_logged_when_asked(amqp, caplog):
    exchange, queues = amqp.topology({"orders.*": "q"})
    transport = amqp.transport(raise_unroutable=False)

    with caplog.at_level(logging.WARNING):
        transport.publish(exchange, [envelope("customers.created"), envelope("orders.placed")])

    assert "routed to no queue" in caplog.text
    assert transport.count(queues["q"]) == 1


# -- topology --------------------------------------------------------------------------


def test_topic_wildcards_route_on_the_broker(amqp):
    exchange, queues = amqp.topology(
        {"catalog.*.save": "one_word", "catalog.#": "any_words", "#.delete": "deletes"}
    )
    transport = amqp.transport()
    topics = [
        "catalog.product.save",
        "catalog.product.price.save",
        "catalog",
        "customer.delete",
        "catalog.product.delete",
    ]

    transport.publish(exchange, [envelope(topic) for topic in topics])

    expected = {"one_word": 1, "any_words": 4, "deletes": 2}
    received = {
        short: sorted(d.envelope.topic for d in drain(transport, name, expected[short]))
        for short, name in queues.items()
    }
    assert all(transport.receive(name, 1, 0.2) == [] for name in queues.values())
    assert received == {
        "one_word": ["catalog.product.save"],
        "any_words": sorted(
            [
                "catalog.product.save",
                "catalog.product.price.save",
                "catalog",
                "catalog.product.delete",
            ]
        ),
        "deletes": ["catalog.product.delete", "customer.delete"],
    }


def test_setup_is_idempotent_and_keeps_waiting_messages(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    transport.publish(exchange, [envelope("a.b")])

    transport.setup(amqp.topologies[0])
    transport.setup(amqp.topologies[0])

    assert transport.count(queues["q"]) == 1


def test_quorum_queues_are_declared_when_configured_and_carry_messages(amqp):
    exchange, queues = amqp.topology({"#": "q"}, queue_type="quorum")
    transport = amqp.transport(queue_type="quorum")

    transport.publish(exchange, [envelope("a.b", {"n": n}) for n in range(20)])
    got = drain(transport, queues["q"], 20)

    assert sorted(d.envelope.body["n"] for d in got) == list(range(20))
    assert eventually(lambda: transport.count(queues["q"]) == 0)
    # RabbitMQ cannot turn a queue into another type: declaring it classic now fails.
    with pytest.raises(TransportError, match="inequivalent arg 'x-queue-type'"):
        amqp.transport(queue_type="classic").setup(amqp.topologies[0])


def test_an_unknown_queue_type_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="classic, quorum"):
        AmqpTransport(queue_type="stream")


# -- consuming -------------------------------------------------------------------------


def test_acknowledged_messages_never_come_back_whatever_the_order_of_acks(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport(prefetch=300)
    transport.publish(exchange, [envelope("a.b", {"n": n}) for n in range(300)])
    got = drain(transport, queues["q"], 300, ack=False)
    assert len(got) == 300

    transport.ack(got[100:200])
    transport.ack(got[:100])
    transport.ack(got[250:])
    transport.close()  # the 50 unacknowledged ones go back to the queue

    consumer = amqp.transport()
    again = drain(consumer, queues["q"], 50)
    assert sorted(d.envelope.body["n"] for d in again) == list(range(200, 250))
    assert all(d.redelivered for d in again)
    assert consumer.receive(queues["q"], 1, 0.3) == []


def test_retry_puts_a_copy_with_one_more_trial_back_in_the_queue(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    first, second = envelope("a.b", {"n": 1}), envelope("a.b", {"n": 2})
    transport.publish(exchange, [first, second])
    got = drain(transport, queues["q"], 2, ack=False)

    transport.retry(got[0], "RuntimeError: boom")
    transport.ack(got[1:])
    again = drain(transport, queues["q"], 1, ack=False)
    transport.retry(again[0], "RuntimeError: boom again")
    third = drain(transport, queues["q"], 1)

    assert [d.envelope for d in (again[0], third[0])] == [first, first]
    assert [d.trials for d in (got[0], again[0], third[0])] == [0, 1, 2]
    assert transport.receive(queues["q"], 1, 0.3) == []


def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_queue_moves_on(
    amqp, raw_channel
):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    raw_channel.basic_publish(
        exchange,
        "a.b",
        b"{not json",
        pika.BasicProperties(message_id="poison-1", delivery_mode=2),
    )
    good = envelope("a.b", {"ok": True})
    transport.publish(exchange, [good])

    got = drain(transport, queues["q"], 2, ack=False)
    poison = next(d for d in got if d.envelope is None)
    transport.dead_letter(poison, "undecodable message")
    transport.ack([d for d in got if d.envelope is not None])

    assert poison.raw == b"{not json"
    assert [d.envelope for d in got if d.envelope is not None] == [good]
    method, properties, body = raw_channel.basic_get(dead_letter_queue(queues["q"]), auto_ack=True)
    assert body == b"{not json"
    assert properties.message_id == "poison-1"
    assert properties.headers["x-dead-letter-reason"] == "undecodable message"
    assert transport.count(queues["q"]) == 0
    assert amqp.transport().receive(queues["q"], 1, 0.3) == []


def test_a_message_rejected_without_requeue_lands_in_the_dead_letter_queue(amqp, raw_channel):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    sent = envelope("a.b")
    transport.publish(exchange, [sent])

    method, _, _ = raw_channel.basic_get(queues["q"], auto_ack=False)
    raw_channel.basic_reject(method.delivery_tag, requeue=False)

    dlq = dead_letter_queue(queues["q"])
    assert eventually(lambda: transport.count(dlq) == 1)
    _, properties, _ = raw_channel.basic_get(dlq, auto_ack=True)
    assert properties.message_id == sent.message_id
    assert properties.headers["x-death"][0]["queue"] == queues["q"]
    assert properties.headers["x-death"][0]["reason"] == "rejected"


def test_released_deliveries_are_delivered_again_without_a_trial(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    transport.publish(exchange, [envelope("a.b", {"n": n}) for n in range(3)])
    got = drain(transport, queues["q"], 3, ack=False)

    transport.release(got[1:])
    again = drain(transport, queues["q"], 2)
    transport.ack(got[:1])

    assert sorted(d.envelope.body["n"] for d in again) == [1, 2]
    assert [d.trials for d in again] == [0, 0]
    assert transport.receive(queues["q"], 1, 0.3) == []


def test_receiving_from_an_undeclared_queue_says_to_run_queue_setup(amqp):
    with pytest.raises(TransportError, match="does not exist.*queue_setup"):
        amqp.transport().receive(amqp.unique("missing"), 1, 0.5)
    with pytest.raises(TransportError, match="does not exist.*queue_setup"):
        amqp.transport().count(amqp.unique("missing"))


# -- dropped connections -----------------------------------------------------------------


def test_a_consumer_whose_connection_drops_reconnects_and_gets_its_unacked_messages_again(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    sent = [envelope("a.b", {"n": n}) for n in range(20)]
    transport.publish(exchange, sent)
    got = drain(transport, queues["q"], 20, ack=False)

    assert close_connections("consumer") >= 1
    transport.ack(got)  # too late: lost with the connection, and no error
    again = drain(transport, queues["q"], 20, timeout=15)

    assert sorted(d.envelope.message_id for d in again) == sorted(e.message_id for e in sent)
    assert all(d.redelivered for d in again)
    assert transport.receive(queues["q"], 1, 0.3) == []


def test_a_publisher_whose_connection_drops_publishes_on_a_new_one(amqp):
    exchange, queues = amqp.topology({"#": "q"})
    transport = amqp.transport()
    first, second = envelope("a.b"), envelope("a.b")
    transport.publish(exchange, [first])

    assert close_connections("publisher") >= 1
    transport.publish(exchange, [second])

    got = drain(transport, queues["q"], 2)
    assert sorted(d.envelope.message_id for d in got) == sorted(
        [first.message_id, second.message_id]
    )


def test_with_rabbitmq_unreachable_publish_and_receive_give_up_after_the_bounded_backoff():
    transport = AmqpTransport(
        "amqp://guest:guest@127.0.0.1:1/%2F", backoff=Backoff(attempts=3, delay=0.05)
    )
    started = time.monotonic()

    with pytest.raises(PublishError, match="2 of 2 messages were not published.*after 3 attempts"):
        transport.publish("orders", [envelope("orders.placed"), envelope("orders.paid")])
    with pytest.raises(TransportError, match="after 3 attempts"):
        transport.receive("orders", 1, 0.1)

    assert 0.3 <= time.monotonic() - started < 10  # two pauses of 0.05 s and 0.1 s, twice
    transport.close()


def _rabbitmq_down(settings) -> None:
    settings.QUEUES = {
        **settings.QUEUES,
        "CONNECTION": "amqp",
        "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F",
        "AMQP_RECONNECT_ATTEMPTS": 1,
    }


def _pika_errors(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("pika") and r.levelno >= logging.ERROR
    ]


def test_queue_setup_with_rabbitmq_down_is_one_clear_error_without_pika_tracebacks(
    settings, caplog
):
    from django.core.management import CommandError, call_command

    _rabbitmq_down(settings)

    with pytest.raises(
        CommandError,
        match=r"setting up the amqp topology failed: cannot connect to RabbitMQ at 127\.0\.0\.1:1",
    ):
        call_command("queue_setup", stdout=io.StringIO())

    assert _pika_errors(caplog) == []


@pytest.mark.django_db
def test_consumers_list_with_rabbitmq_down_shows_unknown_waiting_and_says_why(settings, caplog):
    from django.core.management import call_command

    _rabbitmq_down(settings)
    out, err = io.StringIO(), io.StringIO()

    call_command("queue_consumers_list", stdout=out, stderr=err)

    assert "async.operations.all" in out.getvalue() and " ? " in out.getvalue()
    assert (
        "WAITING unknown (?) on amqp: cannot connect to RabbitMQ at 127.0.0.1:1" in err.getvalue()
    )
    assert _pika_errors(caplog) == []


def test_topic_matching_agrees_with_rabbitmq_for_every_pattern_of_up_to_three_words(
    raw_channel, unique
):
    """The db transport and the checks route with queues.routing.matches; RabbitMQ
    is the reference. Every pattern over {a, b, *, #} of 1-3 words against keys of
    0-3 words (and the odd ones with empty words) must route the same."""
    import itertools

    from queues.routing import matches

    tokens = ["a", "b", "*", "#"]
    patterns = [".".join(p) for n in (1, 2, 3) for p in itertools.product(tokens, repeat=n)]
    keys = [".".join(k) for n in range(4) for k in itertools.product("ab", repeat=n)] + [
        "a..b",
        ".a",
        "a.",
    ]
    exchange = unique("fuzz")
    raw_channel.exchange_declare(exchange, "topic", auto_delete=True)
    queues = {}
    for pattern in patterns:
        queues[pattern] = raw_channel.queue_declare("", exclusive=True).method.queue
        raw_channel.queue_bind(queues[pattern], exchange, pattern)
    raw_channel.confirm_delivery()
    for key in keys:
        raw_channel.basic_publish(exchange, key, key.encode())

    disagreements = {}
    for pattern, queue in queues.items():
        routed = set()
        while (message := raw_channel.basic_get(queue, auto_ack=True))[0] is not None:
            routed.add(message[2].decode())
        ours = {key for key in keys if matches(pattern, key)}
        if routed != ours:
            disagreements[pattern] = (sorted(routed), sorted(ours))
    assert disagreements == {}
    raw_channel.exchange_delete(exchange)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_consumer_waiting_for_an_unreachable_rabbitmq_stops_at_once_when_asked(
    settings, queue_registry, unique
):
    """SIGTERM calls stop(): it must cut the reconnection backoff (about 28 s by
    default) short, or a supervisor's stop timeout kills the consumer instead."""
    import threading

    from django.db import connection

    from queues import Consumer as ConsumerDeclaration
    from queues import Queue as QueueDeclaration
    from queues import registry
    from queues.consumer import ConsumerRuntime

    settings.QUEUES = {**settings.QUEUES, "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    queue, name = unique("q"), unique("c")
    registry.declare(
        QueueDeclaration(queue, connection="amqp"),
        ConsumerDeclaration(name=name, queue=queue, connection="amqp", handler=lambda env: None),
    )
    runtime = ConsumerRuntime(name, register=False)

    def run() -> None:
        try:
            runtime.run()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(1.0)  # inside the reconnection backoff
    asked = time.monotonic()
    runtime.stop("SIGTERM")
    thread.join(timeout=10)

    assert not thread.is_alive() and time.monotonic() - asked < 2
    assert runtime.result.reason == "SIGTERM"
