"""Custom routing: products and customers to queues of their own, as in the seed article.

The project declares, in its own `queues.py`, a queue, a binding and a consumer per
group of topics, and lists the patterns in OPERATIONS["ROUTED_APART"] so that
`async.operations.all` no longer receives them. Without that, `manage.py check`
reports the double processing (queues.E010).
"""

from __future__ import annotations

import itertools

import pytest

from catalog.models import Block, Customer, Product
from operations.models import OperationStatus
from operations.queues import BATCH_HANDLER, HANDLER, declarations
from queues import Binding, Consumer, Queue, registry
from queues.checks import check_declarations
from queues.consumer import ConsumerRuntime
from queues.registry import Registry
from queues.routing import matches
from tests.fixtures.operations import bulk_post, product_item
from webapi.routes import routes

PRODUCT_TOPICS = "async.catalog.services.productrepository.#"
CUSTOMER_TOPICS = "async.catalog.services.accountmanagement.#"


def _apart(unique, exchange: str, connection: str = "default") -> tuple[list, dict[str, str]]:
    """Return the seed article's two extra queues with their bindings and consumers."""
    names = {
        "products": unique("async.catalog.product"),
        "customers": unique("async.catalog.customer"),
    }
    declared = [
        Queue(names["products"], connection=connection),
        Queue(names["customers"], connection=connection),
        Binding(
            id=names["products"], exchange=exchange, topic=PRODUCT_TOPICS, queue=names["products"]
        ),
        Binding(
            id=names["customers"],
            exchange=exchange,
            topic=CUSTOMER_TOPICS,
            queue=names["customers"],
        ),
        Consumer(
            names["products"], queue=names["products"], handler=HANDLER, batch_handler=BATCH_HANDLER
        ),
        Consumer(
            names["customers"],
            queue=names["customers"],
            handler=HANDLER,
            batch_handler=BATCH_HANDLER,
        ),
    ]
    return declared, names


def _errors(reg: Registry) -> list:
    return [e for e in check_declarations(registry=reg) if e.level >= 40]


def test_the_default_topology_routes_every_async_topic_to_async_operations_all():
    reg = Registry()
    reg.declare(*declarations([]))

    assert _errors(reg) == []
    topics = [route.topic for route in routes.async_routes()]
    assert topics
    for topic in topics:
        assert reg.routes("magento", topic) == ["async.operations.all"]
        assert reg.topic(topic) is not None


@pytest.mark.django_db
def test_queue_consumers_list_names_every_async_topic_under_its_consumer(capsys):
    from django.core.management import call_command

    call_command("queue_consumers_list", "--topics")

    out = capsys.readouterr().out
    after = out.split("async.operations.all receives:", 1)[1].split()
    # The topics listed under the consumer, up to the next consumer's table (imports.jobs).
    listed = list(itertools.takewhile(lambda word: word.startswith("async."), after))
    assert sorted(listed) == sorted(route.topic for route in routes.async_routes())
    assert "async.catalog.services.productrepository.save.post" in listed


def test_routing_topics_apart_without_narrowing_the_catch_all_is_reported_as_double_processing(
    unique,
):
    reg = Registry()
    reg.declare(*declarations([]))
    extra, names = _apart(unique, "magento")
    reg.declare(*extra)

    errors = _errors(reg)

    assert {e.id for e in errors} == {"queues.E010"}
    flagged = {e.obj.name for e in errors}
    assert "async.catalog.services.productrepository.save.post" in flagged
    assert "async.catalog.services.accountmanagement.create_account.post" in flagged
    assert not any("blockrepository" in name for name in flagged)


def test_narrowing_the_catch_all_with_routed_apart_passes_the_checks(unique):
    reg = Registry()
    reg.declare(*declarations([PRODUCT_TOPICS, CUSTOMER_TOPICS]))
    extra, names = _apart(unique, "magento")
    reg.declare(*extra)

    assert _errors(reg) == []
    assert reg.routes("magento", "async.catalog.services.productrepository.save.put") == [
        names["products"]
    ]
    assert reg.routes(
        "magento", "async.catalog.services.accountmanagement.create_account.post"
    ) == [names["customers"]]
    assert reg.routes("magento", "async.catalog.services.blockrepository.save.post") == [
        "async.operations.all"
    ]


def test_routed_apart_is_read_from_the_settings(settings):
    settings.OPERATIONS = {**settings.OPERATIONS, "ROUTED_APART": [PRODUCT_TOPICS]}
    bindings = [d for d in declarations() if isinstance(d, Binding)]
    assert bindings
    assert not any(matches(PRODUCT_TOPICS, b.topic) for b in bindings)
    assert any(b.topic == "async.catalog.services.blockrepository.save.post" for b in bindings)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_products_and_customers_run_on_their_own_consumers(
    api, admin_token, transport_kind, make_transport, queue_registry, unique
):
    exchange, all_queue = unique("magento"), unique("async.operations.all")
    registry.declare(
        *declarations(
            [PRODUCT_TOPICS, CUSTOMER_TOPICS],
            exchange=exchange,
            queue=all_queue,
            consumer=all_queue,
            connection=transport_kind,
            periodic_prefix=unique("operations"),
        )
    )
    extra, names = _apart(unique, exchange, transport_kind)
    registry.declare(*extra)
    assert _errors(registry.current()) == []
    make_transport().setup(registry.topology(transport_kind))
    customer = {
        "customer": {"email": "apart@example.com", "firstname": "A", "lastname": "P"},
        "password": "Pass1!word",
    }
    _r, products = bulk_post(api, "async/bulk/V1/products", [product_item("APART")], admin_token)
    _r, customers = bulk_post(api, "async/bulk/V1/customers", [customer], admin_token)
    _r, blocks = bulk_post(
        api,
        "async/bulk/V1/cmsBlock",
        [{"block": {"identifier": "apart", "title": "A", "content": "c"}}],
        admin_token,
    )

    def run(consumer: str) -> int:
        return (
            ConsumerRuntime(consumer, max_idle_time=0.5, sleep=0.1, register=False).run().processed
        )

    assert run(names["products"]) == 1
    assert Product.objects.filter(sku="APART").exists()
    assert not Customer.objects.exists() and not Block.objects.filter(identifier="apart").exists()
    assert run(names["customers"]) == 1
    assert Customer.objects.filter(email="apart@example.com").exists()
    assert run(all_queue) == 1
    for bulk in (products, customers, blocks):
        assert bulk.operations.get().status == OperationStatus.COMPLETE
