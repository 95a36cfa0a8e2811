"""The dashboard's pages and actions, with and without each permission."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from catalog.models import Customer
from operations.models import (
    Bulk,
    BulkAcknowledgement,
    EventKind,
    Operation,
    OperationEvent,
    OperationStatus,
)
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _statuses(bulk: Bulk) -> list[int]:
    return list(bulk.operations.order_by("index").values_list("status", flat=True))


@pytest.fixture
def mixed(signed_in):
    """An operator's bulk: customer 1 and 2 created, 1 again (duplicate: failed), and one
    item rejected at accept (no email)."""
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(
        user,
        [
            customer(1),
            customer(2),
            customer(1),
            {"customer": {"email": "not an email", "firstname": "No", "lastname": "Mail"}},
        ],
        description="Import customers",
    )
    return client, user, bulk


# -- who may open the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/dashboard/", "/dashboard/bulks/", "/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, page):
    response = client.get(page, follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


def test_a_user_without_the_view_permission_is_told_why(signed_in):
    client, _user = signed_in(())
    response = client.get("/dashboard/bulks/")
    assert response.status_code == 403
    assert "operations.view_bulk" in response.content.decode()


def test_someone_elses_bulk_is_a_404_and_absent_from_the_log(mixed, signed_in):
    _client, _user, bulk = mixed
    stranger, _ = signed_in(OPERATOR)
    assert stranger.get(f"/dashboard/bulks/{bulk.uuid}/").status_code == 404
    assert str(bulk.uuid) not in stranger.get("/dashboard/bulks/").content.decode()
    response = stranger.post(f"/dashboard/bulks/{bulk.uuid}/retry-failed/")
    assert response.status_code == 404
    assert _statuses(bulk) == [1, 1, 3, 5]


def test_a_user_who_sees_all_bulks_sees_them_with_their_owner(mixed, signed_in):
    _client, owner, bulk = mixed
    auditor, _ = signed_in([*VIEWER, "operations.view_all_bulks"])
    page = auditor.get("/dashboard/bulks/").content.decode()
    assert f'data-bulk-uuid="{bulk.uuid}"' in page
    assert owner.get_username() in page


# -- the bulk log ---------------------------------------------------------------------------------


def test_the_log_shows_each_bulk_with_its_status_progress_and_counts(mixed):
    client, _user, bulk = mixed
    page = client.get("/dashboard/bulks/").content.decode()
    assert f'data-bulk-uuid="{bulk.uuid}"' in page
    assert "Import customers" in page
    assert "Finished with failure" in page  # the summary status as a word, not a colour
    assert 'aria-label="4 of 4 done, 2 failed"' in page


def test_an_htmx_request_gets_only_the_table(mixed):
    client, _user, _bulk = mixed
    response = client.get("/dashboard/bulks/", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="bulk-table"')
    assert "<html" not in body


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("status=3", True),
        ("status=2", False),
        ("q=import", True),
        ("q=products", False),
        ("q=customerrepository", False),
        ("q=accountmanagement", True),  # the topic
    ],
)
def test_the_log_filters_by_status_description_and_topic(mixed, query, shown):
    client, _user, bulk = mixed
    page = client.get(f"/dashboard/bulks/?{query}").content.decode()
    assert (f'data-bulk-uuid="{bulk.uuid}"' in page) is shown


def test_a_bulk_is_found_by_the_start_of_its_uuid(mixed):
    client, user, bulk = mixed
    other = make_bulk(user, [customer(50)])
    page = client.get(f"/dashboard/bulks/?uuid={str(bulk.uuid)[:8]}").content.decode()
    assert f'data-bulk-uuid="{bulk.uuid}"' in page
    assert f'data-bulk-uuid="{other.uuid}"' not in page


@pytest.mark.parametrize(
    "query",
    ["status=9", "since=soon", "uuid=xyz!", "since=2026-02-01&until=2026-01-01", "before=zz"],
)
def test_nonsense_filters_get_a_clear_message_not_a_500(mixed, query):
    client, _user, bulk = mixed
    response = client.get(f"/dashboard/bulks/?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    if not query.startswith("before"):
        assert "not understood" in page
    assert f'data-bulk-uuid="{bulk.uuid}"' in page


def test_the_log_pages_by_keyset_newest_first(signed_in, settings):
    settings.DASHBOARD = {"PAGE_SIZE": 2}
    client, user = signed_in(OPERATOR)
    bulks = [make_bulk(user, [customer(100 + n)], run=False) for n in range(5)]
    first = client.get("/dashboard/bulks/").content.decode()
    assert [str(b.uuid) in first for b in bulks] == [False, False, False, True, True]
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/dashboard/bulks/{older}").content.decode()
    assert [str(b.uuid) in second for b in bulks] == [False, True, True, False, False]
    assert 'rel="prev"' in second


# -- a bulk's page --------------------------------------------------------------------------------


def test_a_bulks_page_shows_its_summary_groups_and_operations(mixed):
    client, _user, bulk = mixed
    page = client.get(f"/dashboard/bulks/{bulk.uuid}/").content.decode()
    assert "4 items selected for update: 2 successfully updated" in page
    assert "Items that can&#x27;t be updated" in page or "Items that can't be updated" in page
    assert "A customer with the same email address already exists" in page
    for op in bulk.operations.all():
        assert f'data-operation-id="{op.pk}" data-status="{op.status}"' in page


def test_the_operations_table_filters_by_status_and_error_code(mixed):
    client, _user, bulk = mixed
    failed = client.get(f"/dashboard/bulks/{bulk.uuid}/?failed=1", **HTMX).content.decode()
    assert failed.count("data-operation-id=") == 2
    code = bulk.operations.get(index=2).error_code
    by_code = client.get(f"/dashboard/bulks/{bulk.uuid}/?failed=1&code={code}").content.decode()
    assert by_code.count("data-operation-id=") == 1
    nonsense = client.get(f"/dashboard/bulks/{bulk.uuid}/?status=banana&code=x")
    assert nonsense.status_code == 200
    assert "not understood" in nonsense.content.decode()


def test_an_operations_details_show_its_payload_escaped_and_its_history(signed_in):
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(7, firstname="<script>alert(1)</script>")], run=False)
    op = bulk.operations.get()
    detail = client.get(
        f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/", **HTMX
    ).content.decode()
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert 'data-event-kind="accepted"' in detail


# -- actions --------------------------------------------------------------------------------------


def test_retrying_needs_the_permission_and_shows_no_button_without_it(signed_in):
    owner_client, owner = signed_in([*VIEWER, "catalog.change_customer"])
    bulk = make_bulk(owner, [customer(1), customer(1)])
    page = owner_client.get(f"/dashboard/bulks/{bulk.uuid}/").content.decode()
    assert ">Retry</button>" not in page and "Retry all failed" not in page
    op = bulk.operations.get(index=1)
    owner_client.post(f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/retry/", **HTMX)
    assert _statuses(bulk) == [1, 3]


def test_retry_on_a_row_reopens_it_and_records_who(mixed):
    client, user, bulk = mixed
    op = bulk.operations.get(index=2)
    response = client.post(f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/retry/", **HTMX)
    assert response.status_code == 200
    assert f'data-operation-id="{op.pk}" data-status="4"' in response.content.decode()
    assert _statuses(bulk) == [1, 1, 4, 5]
    assert OperationEvent.objects.filter(operation=op, kind=EventKind.RETRIED, actor=user).exists()


def test_retry_selected_and_retry_all_failed(mixed):
    client, _user, bulk = mixed
    ops = {op.index: op.pk for op in bulk.operations.all()}
    client.post(f"/dashboard/bulks/{bulk.uuid}/retry-selected/", {"operation": [ops[3]]}, **HTMX)
    assert _statuses(bulk) == [1, 1, 3, 4]
    response = client.post(f"/dashboard/bulks/{bulk.uuid}/retry-failed/", **HTMX)
    assert "1 failed operation queued again" in response.content.decode()
    assert _statuses(bulk) == [1, 1, 4, 4]


def test_retrying_a_complete_operation_is_refused_with_a_message(mixed):
    client, _user, bulk = mixed
    op = bulk.operations.get(index=0)
    response = client.post(f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/retry/", **HTMX)
    assert "only failed or rejected operations can be retried" in response.content.decode()
    assert _statuses(bulk) == [1, 1, 3, 5]


def test_retrying_an_error_group_reopens_exactly_that_group(mixed):
    client, _user, bulk = mixed
    failed = bulk.operations.get(index=2)
    response = client.post(
        f"/dashboard/bulks/{bulk.uuid}/retry-group/",
        {"code": failed.error_code, "message": failed.result_message},
        **HTMX,
    )
    assert "1 operation of the group queued again" in response.content.decode()
    assert _statuses(bulk) == [1, 1, 4, 5]


def test_edit_and_retry_checks_the_payload_then_queues_it(mixed):
    client, user, bulk = mixed
    rejected = bulk.operations.get(index=3)
    url = f"/dashboard/bulks/{bulk.uuid}/operations/{rejected.pk}/edit/"
    form = client.get(url, **HTMX).content.decode()
    assert "&quot;firstname&quot;: &quot;No&quot;" in form
    bad = client.post(url, {"payload": '{"customer": {"email": "not-an-email"}}'}, **HTMX)
    assert bad.status_code == 200
    assert 'aria-invalid="true"' in bad.content.decode()
    assert _statuses(bulk)[3] == OperationStatus.REJECTED
    not_json = client.post(url, {"payload": "{nope"}, **HTMX)
    assert "This is not valid JSON" in not_json.content.decode()
    good = client.post(url, {"payload": json.dumps(customer(9))}, **HTMX)
    assert "edited and queued again" in good.content.decode()
    assert _statuses(bulk)[3] == OperationStatus.OPEN
    assert OperationEvent.objects.filter(
        operation=rejected, kind=EventKind.EDITED, actor=user
    ).exists()


def test_dismissing_a_finished_bulk_removes_it_from_the_notifications(mixed):
    client, user, bulk = mixed
    page = client.get("/dashboard/bulks/").content.decode()
    assert f'data-notification-bulk="{bulk.uuid}"' in page
    response = client.post(
        f"/dashboard/bulks/{bulk.uuid}/dismiss/", {"from": "notifications"}, **HTMX
    )
    assert f'data-notification-bulk="{bulk.uuid}"' not in response.content.decode()
    assert BulkAcknowledgement.objects.filter(bulk=bulk, user=user).exists()


def test_who_dismissed_a_bulk_and_when_is_shown_on_its_page(mixed):
    client, user, bulk = mixed
    client.post(f"/dashboard/bulks/{bulk.uuid}/dismiss/", **HTMX)
    page = client.get(f"/dashboard/bulks/{bulk.uuid}/").content.decode()
    assert f"by {user.get_username()} at" in page


def test_password_reset_sends_a_link_that_sets_a_new_password(signed_in, settings, mailoutbox):
    import re

    _client, user = signed_in(VIEWER)
    anonymous = Client()
    page = anonymous.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in page
    response = anonymous.post("/accounts/password_reset/", {"email": user.email}, follow=True)
    assert "Check your mail" in response.content.decode()
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mailoutbox[0].body)[1]
    form = anonymous.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = anonymous.post(
        form.redirect_chain[-1][0],
        {"new_password1": "A-new-password-42", "new_password2": "A-new-password-42"},
        follow=True,
    )
    assert "Password changed" in done.content.decode()
    assert anonymous.login(username=user.get_username(), password="A-new-password-42")


def test_dismiss_all_completed_dismisses_every_finished_bulk_of_the_user(signed_in, settings):
    settings.DASHBOARD = {"NOTIFICATIONS": 2}
    client, user = signed_in(OPERATOR)
    bulks = [make_bulk(user, [customer(200 + n)]) for n in range(3)]
    running = make_bulk(user, [customer(300)], run=False)
    response = client.post("/dashboard/notifications/dismiss-all/", **HTMX)
    assert "3 tasks dismissed" in response.content.decode()
    assert BulkAcknowledgement.objects.filter(user=user).count() == 3
    assert not BulkAcknowledgement.objects.filter(bulk=running).exists()
    assert len(bulks) == 3


def test_every_post_is_refused_without_a_csrf_token(mixed):
    _client, user, bulk = mixed
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(f"/dashboard/bulks/{bulk.uuid}/retry-failed/")
    assert response.status_code == 403
    assert _statuses(bulk) == [1, 1, 3, 5]


def test_export_streams_the_operations_of_the_current_filter_as_csv(mixed):
    client, _user, bulk = mixed
    response = client.get(f"/dashboard/bulks/{bulk.uuid}/export.csv?failed=1")
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "index", "topic", "status", "status_label"]
    assert [r[1] for r in rows[1:]] == ["2", "3"]
    assert rows[1][4] == "Not retriably failed"


def test_an_exported_cell_that_looks_like_a_formula_is_defused():
    # A spreadsheet would run `=HYPERLINK(…)` from a message that quotes a client's value.
    from dashboard.views.bulks import _csv_safe

    assert _csv_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _csv_safe("@SUM(1)") == "'@SUM(1)"
    assert _csv_safe("plain") == "plain"
    assert _csv_safe(3) == 3


def test_the_customers_the_retries_create_are_real(mixed):
    client, _user, bulk = mixed
    Customer.objects.filter(email="customer1@example.com").delete()  # fix the cause
    client.post(f"/dashboard/bulks/{bulk.uuid}/retry-failed/", **HTMX)
    from operations.actions import execute_operations

    execute_operations(Operation.objects.filter(bulk=bulk, status=4).values_list("pk", flat=True))
    assert _statuses(bulk) == [1, 1, 1, 5]
