"""`manage.py check` reports inconsistent queue declarations, each with its own id."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from queues import Binding, Consumer, Exchange, Periodic, Publisher, Queue, Topic, registry
from queues.checks import check_declarations
from queues.consumer import ConsumerHook
from queues.exceptions import DeclarationError


def handle(envelope) -> None:
    """A handler the checks can import by its dotted path."""


HANDLER = f"{__name__}.handle"
PROJECT = registry.current()  # taken at import, before the tests swap in empty registries


def ids() -> list[str]:
    return sorted(error.id for error in check_declarations())


def base(*, connection: str = "db", **consumer) -> None:
    """Exchange `ex`, queue `q`, binding `orders.#` → q, publisher `#`, consumer `c` of q."""
    registry.declare(
        Exchange("ex", connection=connection),
        Queue("q", connection=connection),
        Binding(id="b", exchange="ex", topic="orders.#", queue="q"),
        Publisher(topic="#", connection=connection, exchange="ex"),
        Consumer("c", queue="q", **consumer),
    )


@pytest.fixture(autouse=True)
def _isolated(queue_registry):
    return queue_registry


def test_a_consistent_topology_passes():
    base(handler=HANDLER)
    registry.declare(Topic("orders.placed"), Periodic("p", func=HANDLER, interval=60, consumer="c"))

    assert ids() == []


def test_the_projects_own_declarations_pass_manage_py_check():
    with registry.use(PROJECT):
        assert [e.id for e in check_declarations()] == []
        call_command("check")


def test_declaring_a_name_twice_fails_at_once():
    registry.declare(Queue("q"))

    with pytest.raises(DeclarationError, match="declared twice"):
        registry.declare(Queue("q"))


def test_a_topic_reaching_a_consumer_without_any_handler_is_E001():
    base()
    registry.declare(Topic("orders.placed"))

    assert ids() == ["queues.E001"]


def test_a_topic_handler_satisfies_a_consumer_without_one():
    base()
    registry.declare(Topic("orders.placed", handler=HANDLER))

    assert ids() == []


def test_a_handler_path_that_cannot_be_imported_is_E002():
    base(handler="tests.nowhere.handler")

    assert ids() == ["queues.E002"]


def test_a_dead_letter_callback_path_that_cannot_be_imported_is_E002():
    base(handler=HANDLER, on_dead_letter="tests.nowhere.dead_lettered")

    assert ids() == ["queues.E002"]


class Hook(ConsumerHook):
    """A hook the checks can import by its dotted path."""


def test_declared_hooks_and_hooks_in_the_settings_that_import_pass(settings):
    settings.QUEUES = {**settings.QUEUES, "CONSUMER_HOOKS": [f"{__name__}.Hook"]}
    base(handler=HANDLER, hooks=(f"{__name__}.Hook", Hook, Hook()))

    assert ids() == []


def test_a_declared_hook_path_that_cannot_be_imported_is_E002():
    base(handler=HANDLER, hooks=("tests.nowhere.Hook",))

    assert ids() == ["queues.E002"]


def test_a_hook_path_in_the_settings_that_cannot_be_imported_is_E002(settings):
    settings.QUEUES = {**settings.QUEUES, "CONSUMER_HOOKS": ["tests.nowhere.Hook"]}
    base(handler=HANDLER)

    (error,) = check_declarations()
    assert error.id == "queues.E002" and "QUEUES['CONSUMER_HOOKS']" in error.msg


def test_a_hook_that_is_not_a_consumer_hook_is_E014(settings):
    settings.QUEUES = {**settings.QUEUES, "CONSUMER_HOOKS": [HANDLER]}
    base(handler=HANDLER, hooks=(handle,))

    assert ids() == ["queues.E014", "queues.E014"]


def test_a_binding_to_an_undeclared_queue_is_E003():
    base(handler=HANDLER)
    registry.declare(Binding(id="b2", exchange="ex", topic="x.#", queue="missing"))

    assert ids() == ["queues.E003"]


def test_a_binding_on_an_undeclared_exchange_is_E004():
    base(handler=HANDLER)
    registry.declare(Binding(id="b2", exchange="missing", topic="x.#", queue="q"))

    assert ids() == ["queues.E004"]


def test_a_binding_across_connections_is_E005():
    base(handler=HANDLER)
    registry.declare(
        Queue("q-amqp", connection="amqp"),
        Binding(id="b2", exchange="ex", topic="x.#", queue="q-amqp"),
    )

    assert ids() == ["queues.E005"]


def test_a_consumer_of_an_undeclared_queue_is_E006():
    base(handler=HANDLER)
    registry.declare(Consumer("c2", queue="missing", handler=HANDLER))

    assert ids() == ["queues.E006"]


def test_a_publisher_on_an_undeclared_exchange_is_E007():
    base(handler=HANDLER)
    registry.declare(Publisher(topic="orders.placed", connection="db", exchange="missing"))

    assert ids() == ["queues.E007"]


def test_a_published_topic_no_binding_routes_is_E008():
    base(handler=HANDLER)
    registry.declare(Topic("customers.created", handler=HANDLER))

    assert ids() == ["queues.E008"]


def test_two_enabled_publishers_for_one_topic_are_E009():
    base(handler=HANDLER)
    registry.declare(
        Exchange("ex2", connection="amqp"),
        Publisher(topic="#", connection="amqp", exchange="ex2"),
    )

    assert ids() == ["queues.E009"]


def test_a_queue_named_like_another_queues_dead_letter_queue_is_E009():
    base(handler=HANDLER)
    registry.declare(Queue("q.dlq", connection="db"))

    assert ids() == ["queues.E009"]


def test_a_topic_delivered_to_two_consumed_queues_is_E010():
    base(handler=HANDLER)
    registry.declare(
        Topic("orders.placed"),
        Queue("products", connection="db"),
        Binding(id="b-products", exchange="ex", topic="orders.placed", queue="products"),
        Consumer("products", queue="products", handler=HANDLER),
    )

    assert ids() == ["queues.E010"]


def test_a_consumer_meant_to_get_copies_can_opt_out_of_E010():
    base(handler=HANDLER)
    registry.declare(
        Topic("orders.placed"),
        Queue("audit", connection="db"),
        Binding(id="b-audit", exchange="ex", topic="orders.placed", queue="audit"),
        Consumer("audit", queue="audit", handler=HANDLER, allow_shared_topics=True),
    )

    assert ids() == []


def test_a_periodic_task_of_an_undeclared_consumer_is_E011():
    base(handler=HANDLER)
    registry.declare(Periodic("p", func=HANDLER, interval=60, consumer="missing"))

    assert ids() == ["queues.E011"]


def test_a_consumer_on_another_connection_than_its_queue_is_E012():
    base(handler=HANDLER)
    registry.declare(
        Consumer("c2", queue="q", handler=HANDLER, connection="amqp", allow_shared_topics=True)
    )

    assert ids() == ["queues.E012"]


def test_an_unknown_connection_name_is_E013():
    registry.declare(Queue("q", connection="kafka"))

    assert ids() == ["queues.E013"]


def test_manage_py_check_fails_on_a_broken_topology():
    base(handler=HANDLER)
    registry.declare(Consumer("c2", queue="missing", handler=HANDLER))

    with pytest.raises(SystemCheckError, match="queues.E006"):
        call_command("check")


def test_a_wildcard_topic_declaration_serves_every_topic_it_matches():
    registry.declare(Topic("async.#", handler=HANDLER), Topic("async.products.save.put"))

    assert registry.topic("async.products.save.put").name == "async.products.save.put"
    assert registry.topic("async.customers.save.post").name == "async.#"
    assert registry.topic("sync.products") is None
