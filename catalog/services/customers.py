"""Customers: Magento's `AccountManagementInterface::createAccount` and
`CustomerRepositoryInterface`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from catalog.models import Customer
from catalog.serializers.customers import CUSTOMER, READ_ONLY, check_password, render_customer
from catalog.services.base import (
    as_id,
    clean,
    insert_unless_taken,
    merge_custom_attributes,
    no_such_entity,
    required,
    search,
    writes,
)
from store.models import ADMIN_STORE_ID, Store, Website
from webapi.exceptions import InputException, InputMismatchException

if TYPE_CHECKING:
    from webapi.routes import CallContext

DUPLICATE_EMAIL = "A customer with the same email address already exists in an associated website."
INVALID_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
DEFAULT_WEBSITE_ID = 1

SEARCH_FIELDS = {
    "id": "id",
    "entity_id": "id",
    "email": "email",
    "firstname": "firstname",
    "lastname": "lastname",
    "middlename": "middlename",
    "dob": "dob",
    "gender": "gender",
    "taxvat": "taxvat",
    "website_id": "website_id",
    "group_id": "group_id",
    "store_id": "store_id",
    "created_in": "created_in",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
_FIELDS = (
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "dob",
    "gender",
    "taxvat",
    "group_id",
)


def _scope(
    ctx: CallContext, data: dict[str, Any], current: Customer | None = None
) -> tuple[int, Store]:
    """Return the (website id, store) the customer belongs to, checked.

    Defaults: the caller's store and its website outside the admin scope, else
    the default website (1) and that website's first store view.
    """
    website_id = data.get("website_id")
    if website_id is None:
        if current is not None:
            website_id = current.website_id
        elif ctx.store.pk != ADMIN_STORE_ID:
            website_id = ctx.store.website_id
        else:
            website_id = DEFAULT_WEBSITE_ID
    if website_id == 0 or not Website.objects.filter(pk=website_id).exists():
        raise InputException(INVALID_VALUE, {"value": website_id, "fieldName": "website_id"})
    store_id = data.get("store_id")
    if store_id is None:
        if current is not None and current.website_id == website_id:
            return website_id, current.store
        if ctx.store.pk != ADMIN_STORE_ID and ctx.store.website_id == website_id:
            return website_id, ctx.store
        store = (
            Store.objects.filter(website_id=website_id)
            .exclude(pk=ADMIN_STORE_ID)
            .order_by("pk")
            .first()
        )
    else:
        store = (
            Store.objects.filter(pk=store_id, website_id=website_id)
            .exclude(pk=ADMIN_STORE_ID)
            .first()
        )
    if store is None:
        raise InputException(INVALID_VALUE, {"value": store_id, "fieldName": "store_id"})
    return website_id, store


def _get(customer_id: Any, *, lock: bool = False) -> Customer:
    pk = as_id(customer_id, "customerId")
    queryset = Customer.objects.select_for_update() if lock else Customer.objects
    customer = queryset.select_related("store").filter(pk=pk).first()
    if customer is None:
        raise no_such_entity("customerId", customer_id)
    return customer


def _duplicate(
    email: str, website_id: int, exclude: int | None = None
) -> InputMismatchException | None:
    others = Customer.objects.annotate(email_lower=Lower("email")).filter(
        email_lower=email.lower(), website_id=website_id
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    return InputMismatchException(DUPLICATE_EMAIL) if others.exists() else None


def create(ctx: CallContext, data: dict[str, Any], password_hash: str = "") -> dict[str, Any]:
    """Insert a customer from cleaned data; Magento's message for a taken email."""
    for field in ("email", "firstname", "lastname"):
        required(data.get(field), field)
    website_id, store = _scope(ctx, data)
    customer = Customer(
        email=data["email"],
        website_id=website_id,
        store=store,
        created_in=store.name,
        password_hash=password_hash,
        custom_attributes=merge_custom_attributes([], data.get("custom_attributes")),
        **{f: data[f] for f in _FIELDS if data.get(f) is not None},
    )
    if not insert_unless_taken(customer):
        raise InputMismatchException(DUPLICATE_EMAIL)
    return render_customer(customer)


class AccountManagement:
    """Customer accounts (`catalog.services.AccountManagement`)."""

    @classmethod
    @writes
    def create_account(
        cls, ctx: CallContext, customer_data: Any, password: str | None = None
    ) -> dict[str, Any]:
        """Create a customer, with a password if given (hashed with Django's hasher, never
        returned).

        The website defaults to the caller's store's website (the default website
        in the admin scope). The email must be unused in that website; the same
        email may exist in another website.
        """
        data = clean(CUSTOMER, customer_data)
        password_hash = ""
        if password is not None and password != "":
            check_password(password, data.get("email"))
            password_hash = make_password(password)
        return create(ctx, data, password_hash)


class CustomerRepository:
    """Read, update, search and delete customers (`catalog.services.CustomerRepository`)."""

    @classmethod
    @writes
    def save(cls, ctx: CallContext, customer_data: Any, customer_id: Any = None) -> dict[str, Any]:
        """Update the customer `customer_id` (the URL's, else the body's `id`) with the
        given fields.

        Fields left out keep their values (Magento replaces the whole customer;
        sending the fields you read back gives the same result). Without any id a
        customer is created, without a password.
        """
        data = clean(CUSTOMER, customer_data)
        for key in READ_ONLY:
            data.pop(key, None)
        if customer_id is None:
            customer_id = data.get("id")
        if customer_id is None:
            return create(ctx, data)
        customer = _get(customer_id, lock=True)
        website_id, store = _scope(ctx, data, customer)
        for field in _FIELDS:
            if field in data:
                value = data[field]
                if field in ("firstname", "lastname"):
                    required(value, field)
                setattr(
                    customer,
                    field,
                    "" if value is None and field not in ("dob", "gender") else value,
                )
        if "custom_attributes" in data:
            customer.custom_attributes = merge_custom_attributes(
                customer.custom_attributes or [], data["custom_attributes"]
            )
        email = data.get("email", customer.email)
        moved = email.lower() != customer.email.lower() or website_id != customer.website_id
        customer.email = email
        customer.website_id = website_id
        customer.store = store
        if moved and (duplicate := _duplicate(email, website_id, exclude=customer.pk)):
            raise duplicate
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            raise InputMismatchException(DUPLICATE_EMAIL) from None
        return render_customer(customer)

    @classmethod
    def get_by_id(cls, ctx: CallContext, customer_id: Any) -> dict[str, Any]:
        return render_customer(_get(customer_id))

    @classmethod
    @writes
    def delete_by_id(cls, ctx: CallContext, customer_id: Any) -> bool:
        _get(customer_id, lock=True).delete()
        return True

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        return search(
            Customer.objects.all(),
            query_params,
            SEARCH_FIELDS,
            lambda rows: [render_customer(c) for c in rows],
        )
