"""Publishing reuses a pool of transports across threads (every ASGI request may run in a
thread of its own), and a pooled connection that dropped while idle costs no message."""

from __future__ import annotations

import threading

import pytest

from queues import publish, publisher, registry
from queues.consumer import ConsumerRuntime
from queues.transports import create_transport
from tests.fixtures.queues import simple_topology

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def opened(monkeypatch) -> list[object]:
    """The transports publishing opens (the real ones, counted)."""
    made: list[object] = []

    def counting(name, **options):
        transport = create_transport(name, **options)
        made.append(transport)
        return transport

    monkeypatch.setattr(publisher, "create_transport", counting)
    publisher.close_transports()
    yield made
    publisher.close_transports()


def _publish_in_threads(count: int) -> None:
    for n in range(count):  # one after the other, each in a thread of its own
        thread = threading.Thread(target=publish, args=("t", {"n": n}))
        thread.start()
        thread.join()


def test_requests_in_threads_of_their_own_share_one_broker_connection(
    transport_kind, make_transport, unique, opened
):
    got: list[int] = []
    names = simple_topology(unique, transport_kind, handler=lambda env: got.append(env.body["n"]))
    make_transport().setup(registry.topology(transport_kind))

    _publish_in_threads(10)
    ConsumerRuntime(names["consumer"], max_idle_time=0.5, sleep=0.2).run()

    assert sorted(got) == list(range(10))
    assert len(opened) == 1


def test_a_pooled_connection_closed_while_idle_is_replaced_without_losing_the_message(
    transport_kind, make_transport, unique, opened
):
    got: list[int] = []
    names = simple_topology(unique, transport_kind, handler=lambda env: got.append(env.body["n"]))
    make_transport().setup(registry.topology(transport_kind))
    publish("t", {"n": 1})
    (pooled,) = opened
    pooled.close()  # as a broker restart leaves it: still in the pool, its connection gone

    publish("t", {"n": 2})
    ConsumerRuntime(names["consumer"], max_idle_time=0.5, sleep=0.2).run()

    assert sorted(got) == [1, 2]


def test_a_connection_idle_past_the_limit_is_not_reused(
    transport_kind, make_transport, unique, opened, monkeypatch
):
    simple_topology(unique, transport_kind, handler=lambda env: None)
    make_transport().setup(registry.topology(transport_kind))
    publish("t", {"n": 1})
    monkeypatch.setattr(publisher, "IDLE_SECONDS", -1.0)

    publish("t", {"n": 2})

    assert len(opened) == 2
