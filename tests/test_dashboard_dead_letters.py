"""The dead-letters page (/dashboard/dead-letters/): who sees it, who may act, what it shows,
on both transports; messages dead-lettered by a real consumer runtime."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from dashboard.live.render import Abilities, Watch
from dashboard.views.dead_letters import render_panel, slug
from queues import dead_letters, publish, registry
from queues.consumer import ConsumerRuntime
from queues.models import OperatorAction
from tests.fixtures.queues import simple_topology

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/dead-letters/"
REQUEUE = "/dashboard/dead-letters/requeue/"
DISCARD = "/dashboard/dead-letters/discard/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver" + PAGE}
VIEW_QUEUES = ("queues.view_queues",)
OPERATE = ("queues.view_queues", "queues.operate_queues")
MARKUP = "<script>alert('x')</script>"


class Poisoned:
    def __init__(self) -> None:
        self.poisoned = True
        self.processed: list[str] = []

    def __call__(self, envelope) -> None:
        if self.poisoned:
            raise ValueError(f"cannot digest {MARKUP}")
        self.processed.append(envelope.message_id)


@pytest.fixture
def dead(transport_kind, make_transport, unique):
    """A queue holding two dead letters (one with markup in its body), left by a consumer."""
    handler = Poisoned()
    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    ids = [
        publish("orders.placed", {"n": 1, "note": MARKUP}, {"store_id": 1}),
        publish("orders.placed", {"n": 2}, {"store_id": 1}),
    ]
    consume(names["consumer"])
    assert dead_letters.count(names["queue"]) == 2
    return {**names, "ids": ids, "handler": handler}


def consume(consumer: str) -> ConsumerRuntime:
    runtime = ConsumerRuntime(consumer, max_idle_time=0.6, sleep=0.1, max_trials=2)
    runtime.run()
    return runtime


def keys(queue: str) -> list[str]:
    return [letter.key for letter in dead_letters.list_dead(queue).letters]


def test_without_the_view_permission_the_page_and_its_actions_are_refused(signed_in, dead):
    client, _user = signed_in(("operations.view_bulk",))

    page = client.get(PAGE)
    post = client.post(REQUEUE, {"queue": dead["queue"], "all": "1"})

    assert page.status_code == 403 and "queues.view_queues" in page.content.decode()
    assert post.status_code == 403
    assert dead_letters.count(dead["queue"]) == 2


def test_a_viewer_sees_each_dead_letter_escaped_with_its_reason_but_no_buttons(signed_in, dead):
    client, _user = signed_in(VIEW_QUEUES)

    html = client.get(PAGE).content.decode()

    assert dead["queue"] in html and "2 dead letters" in html
    assert all(message_id in html for message_id in dead["ids"])
    assert MARKUP not in html, "markup in a body or a reason is shown as text"
    assert "&lt;script&gt;alert(" in html
    assert "failed 2 times" in html and "store_id" in html
    assert "Send back" not in html and "Discard" not in html
    for url in (REQUEUE, DISCARD):
        refused = client.post(url, {"queue": dead["queue"], "all": "1"}, **HTMX)
        assert refused.status_code == 403
        assert "queues.operate_queues" in refused.content.decode()
    assert dead_letters.count(dead["queue"]) == 2
    assert not OperatorAction.objects.exists()


def test_an_operator_sends_one_back_and_it_is_processed_once_recorded_with_who(signed_in, dead):
    client, user = signed_in(OPERATE, name="olga")
    page = client.get(PAGE).content.decode()
    assert "Send back all 2" in page and "Send back all 2 dead letters of" in page
    first = keys(dead["queue"])[0]
    dead["handler"].poisoned = False

    response = client.post(REQUEUE, {"queue": dead["queue"], "key": first}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"1 dead letter sent back to {dead['queue']}." in html
    assert f'id="dlq-section-{slug(dead["queue"])}"' in html
    assert dead["ids"][0] not in html and dead["ids"][1] in html, "its row left the table"
    assert "olga" in html, "the log of actions says who"
    action = OperatorAction.objects.get()
    assert (action.actor, action.kind, action.count) == ("olga", "requeue", 1)
    consume(dead["consumer"])
    assert dead["handler"].processed == [dead["ids"][0]]
    assert dead_letters.count(dead["queue"]) == 1


def test_an_operator_discards_the_selected_and_then_all(signed_in, dead):
    client, _user = signed_in(OPERATE, name="dora")
    first, second = keys(dead["queue"])

    one = client.post(DISCARD, {"queue": dead["queue"], "key": [first]}, **HTMX)
    rest = client.post(DISCARD, {"queue": dead["queue"], "all": "1"}, **HTMX)

    assert "1 dead letter discarded from" in one.content.decode()
    assert "1 dead letter discarded from" in rest.content.decode()
    assert "no dead letters" in rest.content.decode()
    assert dead_letters.count(dead["queue"]) == 0
    assert list(OperatorAction.objects.values_list("actor", "kind", "count")) == [
        ("dora", "discard", 1),
        ("dora", "discard", 1),
    ]


def test_a_plain_form_post_is_redirected_back_with_the_message(signed_in, dead):
    client, _user = signed_in(OPERATE)

    response = client.post(REQUEUE, {"queue": dead["queue"], "all": "1"}, follow=True)

    assert response.redirect_chain[-1][0] == PAGE + f"?queue={dead['queue']}"
    assert "2 dead letters sent back to" in response.content.decode()


def test_every_post_needs_its_csrf_token(signed_in, dead):
    _client, user = signed_in(OPERATE)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    refused = strict.post(REQUEUE, {"queue": dead["queue"], "all": "1"})
    page = strict.get(PAGE)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    accepted = strict.post(DISCARD, {"queue": dead["queue"], "all": "1"}, HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert dead_letters.count(dead["queue"]) == 0


# -- the db transport only: filters, bad input, queries, the live panel ---------------------


@pytest.fixture
def db_dead(queue_registry, unique):
    handler = Poisoned()
    names = simple_topology(unique, "db", handler=handler)
    publish("orders.placed", {"n": 1})
    publish("orders.cancelled", {"n": 2})
    consume(names["consumer"])
    return names


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?queue=nope", "No declared queue is named “nope”"),
        ("?topic=%3Cb%3E+%27x", "is not a topic"),
        ("?topic=" + "a" * 300, "is not a topic"),
    ],
)
def test_nonsense_filters_are_explained_not_a_server_error(signed_in, db_dead, query, problem):
    client, _user = signed_in(VIEW_QUEUES)

    response = client.get(PAGE + query)

    assert response.status_code == 200
    assert problem in response.content.decode()
    assert "<b> 'x" not in response.content.decode()


def test_the_topic_filter_narrows_the_list_and_the_count_in_the_confirmation(signed_in, db_dead):
    client, _user = signed_in(OPERATE)

    html = client.get(PAGE + "?topic=orders.cancelled").content.decode()

    assert "2 dead letters" in html and "1 of topic <code>orders.cancelled</code>" in html
    assert html.count('class="dead-letter"') == 1
    assert "Send back all 1 dead letter of" in html and "with topic orders.cancelled" in html


def test_bad_actions_get_a_readable_message(signed_in, db_dead):
    client, _user = signed_in(OPERATE)

    unknown = client.post(REQUEUE, {"queue": "nope", "all": "1"}, **HTMX)
    nothing = client.post(REQUEUE, {"queue": db_dead["queue"]}, **HTMX)
    gone = client.post(REQUEUE, {"queue": db_dead["queue"], "key": "123456:x"}, **HTMX)

    assert unknown.status_code == 200 and "No declared queue is named" in unknown.content.decode()
    assert unknown["HX-Retarget"] == "#toasts"
    assert "Select the dead letters first." in nothing.content.decode()
    assert "0 dead letters sent back" in gone.content.decode()
    assert "was no longer there" in gone.content.decode()
    assert dead_letters.count(db_dead["queue"]) == 2


def test_the_page_reads_no_operations_and_few_queries(
    signed_in, db_dead, django_assert_max_num_queries
):
    client, _user = signed_in(OPERATE)
    client.get(PAGE)  # the session and permissions cached

    with django_assert_max_num_queries(8) as captured:
        response = client.get(PAGE)

    assert response.status_code == 200
    assert not [q for q in captured.captured_queries if "operations_operation" in q["sql"]]


def test_the_live_panel_draws_every_count_and_the_log_out_of_band(db_dead):
    parts = render_panel(Abilities(can_view_queues=True))

    count = next(p for p in parts if f"dlq-count-{slug(db_dead['queue'])}" in p)
    assert 'hx-swap-oob="true"' in count and "2 dead letters" in count
    assert any('id="dead-letter-actions"' in p for p in parts)
    assert Watch.parse({"page": "dead-letters"}).kind == "dead-letters", "a panel's page kind"


def test_an_unreachable_broker_is_said_in_words_not_a_server_error(
    signed_in, queue_registry, unique, settings
):
    settings.QUEUES = {
        **getattr(settings, "QUEUES", {}),
        "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F",
    }
    names = simple_topology(unique, "amqp")
    client, _user = signed_in(OPERATE)

    page = client.get(PAGE)
    action = client.post(REQUEUE, {"queue": names["queue"], "all": "1"}, **HTMX)

    assert page.status_code == 200
    assert "count unavailable" in page.content.decode()
    assert "The amqp transport did not answer" in page.content.decode()
    assert action.status_code == 200 and "RabbitMQ" in action.content.decode()
    assert action["HX-Retarget"] == "#toasts"
