"""Issue 12, defect 10: secrets at rest. A password sent in an async customer operation
is encrypted at accept time, decrypted only to run, masked in every answer and page,
and erased once the operation is complete or has failed for good."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from catalog.models import Customer
from operations.actions import edit_operation, execute_operations, retry_operation
from operations.items import redact_secrets
from operations.models import Operation, OperationStatus
from operations.secrets import ERASED, UNREADABLE
from tests.fixtures.operations import bulk_post

pytestmark = pytest.mark.django_db

PASSWORD = "Sup3r-Secret-pw!"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _customer(email: str = "ann@example.com", password: str = PASSWORD) -> dict:
    return {
        "customer": {"email": email, "firstname": "Ann", "lastname": "Lee"},
        "password": password,
    }


def _raw(op_id: int) -> str:
    """The stored column as the database holds it (no model code in between)."""
    with connection.cursor() as cursor:
        table = Operation._meta.db_table
        cursor.execute(f"SELECT serialized_data FROM {table} WHERE id = %s", [op_id])
        return cursor.fetchone()[0]


def _keys(settings, *keys: str) -> None:
    settings.OPERATIONS = {**getattr(settings, "OPERATIONS", {}), "SECRET_KEYS": list(keys)}


def _accept(api, token, items) -> list[Operation]:
    response, bulk = bulk_post(api, "async/bulk/V1/customers", items, token)
    assert response.status_code == 202, response.content
    return list(bulk.operations.order_by("index"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # publishes after commit
def test_an_accepted_password_is_stored_encrypted_and_the_consumer_uses_it(
    api, admin_token, ops_topology
):
    (op,) = _accept(api, admin_token, [_customer()])
    raw = _raw(op.pk)
    assert PASSWORD not in raw
    assert '\\"password\\": \\"******\\"' in raw
    assert "encrypted_secrets" in json.loads(raw)

    ops_topology.run(max_messages=1)

    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    customer = Customer.objects.get(email="ann@example.com")
    assert check_password(PASSWORD, customer.password_hash)
    raw = _raw(op.pk)
    assert PASSWORD not in raw and "encrypted_secrets" not in raw
    assert "ann@example.com" in raw  # the rest stays as the audit trail


def test_a_single_async_call_is_sealed_too(api, admin_token):
    response = api.post("async/V1/customers", _customer(), token=admin_token)
    assert response.status_code == 202
    op = Operation.objects.get()
    assert PASSWORD not in _raw(op.pk)
    execute_operations([op.pk])
    assert check_password(PASSWORD, Customer.objects.get().password_hash)


def test_an_operation_failed_for_good_keeps_its_secret_only_encrypted_for_a_retry(
    api, admin_token, admin_user
):
    first, duplicate = _accept(api, admin_token, [_customer(), _customer(password="Other-pw-2!")])
    execute_operations([first.pk, duplicate.pk])
    duplicate.refresh_from_db()
    assert duplicate.status == OperationStatus.NOT_RETRIABLY_FAILED
    raw = _raw(duplicate.pk)
    assert "Other-pw-2!" not in raw and "encrypted_secrets" in raw

    Customer.objects.all().delete()  # the cause fixed: a retry runs with the password
    retry_operation(duplicate, admin_user)
    execute_operations([duplicate.pk])
    duplicate.refresh_from_db()
    assert duplicate.status == OperationStatus.COMPLETE
    assert check_password("Other-pw-2!", Customer.objects.get().password_hash)
    assert "encrypted_secrets" not in _raw(duplicate.pk)  # used up


def test_a_rejected_item_keeps_no_secret(api, admin_token):
    bad = {"customer": {"email": "not an email", "firstname": "A", "lastname": "B"}}
    (op,) = _accept(api, admin_token, [{**bad, "password": PASSWORD}])
    assert op.status == OperationStatus.REJECTED
    raw = _raw(op.pk)
    assert PASSWORD not in raw and "encrypted_secrets" not in raw


def test_operations_sealed_with_an_old_key_still_run_after_a_new_key_is_put_first(
    api, admin_token, settings
):
    _keys(settings, OLD_KEY)
    (op,) = _accept(api, admin_token, [_customer()])
    _keys(settings, NEW_KEY, OLD_KEY)
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    assert check_password(PASSWORD, Customer.objects.get().password_hash)


def test_rotation_re_encrypts_open_operations_so_the_old_key_can_go(api, admin_token, settings):
    _keys(settings, OLD_KEY)
    (op,) = _accept(api, admin_token, [_customer()])
    before = _raw(op.pk)
    _keys(settings, NEW_KEY, OLD_KEY)
    call_command("operations_rotate_secrets")
    after = _raw(op.pk)
    assert after != before and PASSWORD not in after
    _keys(settings, NEW_KEY)  # the old key dropped
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    assert check_password(PASSWORD, Customer.objects.get().password_hash)


def test_rotation_names_operations_no_key_decrypts(api, admin_token, settings):
    _keys(settings, OLD_KEY)
    (op,) = _accept(api, admin_token, [_customer()])
    _keys(settings, NEW_KEY)
    with pytest.raises(CommandError, match=str(op.pk)):
        call_command("operations_rotate_secrets")


@pytest.mark.parametrize("keys", [[NEW_KEY], ["a passphrase, not a Fernet key"]])
def test_a_wrong_key_fails_the_operation_retriably_with_a_clear_message(
    api, admin_token, admin_user, settings, keys
):
    _keys(settings, OLD_KEY)
    (op,) = _accept(api, admin_token, [_customer()])
    sealed = _raw(op.pk)
    _keys(settings, *keys)
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert op.result_message == UNREADABLE
    assert not Customer.objects.exists()
    assert _raw(op.pk) == sealed  # kept, so that a retry runs once the key is back
    _keys(settings, OLD_KEY)
    retry_operation(op, admin_user)
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE


def test_the_default_key_is_derived_from_the_django_secret_key(api, admin_token, settings):
    (op,) = _accept(api, admin_token, [_customer()])
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert op.result_message == UNREADABLE


def test_every_answer_and_page_shows_the_secret_masked(api, admin_token, admin_user, client):
    (op,) = _accept(api, admin_token, [_customer()])
    bulk = op.bulk
    detailed = api.get(f"V1/bulk/{bulk.uuid}/detailed-status", token=admin_token)
    assert detailed.status_code == 200
    (listed,) = detailed.json()["operations_list"]
    assert PASSWORD not in listed["serialized_data"]
    assert '\\"password\\": \\"******\\"' in listed["serialized_data"]

    client.force_login(admin_user)
    pages = {
        "bulk": f"/dashboard/bulks/{bulk.uuid}/",
        "operation": f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/",
        "csv": f"/dashboard/bulks/{bulk.uuid}/export.csv",
        "edit": f"/dashboard/bulks/{bulk.uuid}/operations/{op.pk}/edit/",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        assert PASSWORD not in text, name
        if name != "bulk":
            assert "******" in text, name


def test_an_edit_that_keeps_the_mask_keeps_the_password(api, admin_token, admin_user, settings):
    _keys(settings, OLD_KEY)
    (op,) = _accept(api, admin_token, [_customer()])
    _keys(settings, NEW_KEY)
    execute_operations([op.pk])  # no key: retriably failed, ciphertext kept
    _keys(settings, OLD_KEY)
    edited = _customer(email="ann.lee@example.com", password="******")
    edit_operation(Operation.objects.get(pk=op.pk), edited, admin_user)
    assert PASSWORD not in _raw(op.pk)
    execute_operations([op.pk])
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    assert check_password(PASSWORD, Customer.objects.get(email="ann.lee@example.com").password_hash)


def test_a_retry_after_the_secret_was_erased_says_to_give_it_again(api, admin_token, admin_user):
    first, duplicate = _accept(api, admin_token, [_customer(), _customer()])
    execute_operations([first.pk, duplicate.pk])
    Customer.objects.all().delete()
    # As if its secret had been erased (an operation sealed before a key was lost for
    # good and then redacted by hand): the retry says what to do instead of crashing.
    Operation.objects.filter(pk=duplicate.pk).update(
        serialized_data=redact_secrets(Operation.objects.get(pk=duplicate.pk).serialized_data)
    )
    retry_operation(duplicate, admin_user)
    execute_operations([duplicate.pk])
    duplicate.refresh_from_db()
    assert duplicate.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert duplicate.result_message == ERASED.replace("%1", "password")
    assert not Customer.objects.exists()
