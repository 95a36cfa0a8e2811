"""Customers: request body specs, Magento's password rules and the answer shape."""

from __future__ import annotations

from typing import Any

from catalog.models import Customer
from catalog.serializers.fields import (
    AnyValue,
    Bool,
    Date,
    Email,
    Int,
    Invalid,
    ListOf,
    Obj,
    RequestSerializer,
    Str,
)
from catalog.serializers.products import CUSTOM_ATTRIBUTE
from catalog.serializers.render import timestamp

PASSWORD_MIN_LENGTH = 8
PASSWORD_MIN_CLASSES = 3

CUSTOMER = Obj(
    "Customer",
    {
        "id": Int(min_value=1),
        "email": Email(),
        "firstname": Str(max_length=255, allow_blank=False),
        "lastname": Str(max_length=255, allow_blank=False),
        "middlename": Str(max_length=255, nullable=True),
        "prefix": Str(max_length=40, nullable=True),
        "suffix": Str(max_length=40, nullable=True),
        "dob": Date(nullable=True),
        "gender": Int(choices=(0, 1, 2, 3), nullable=True),
        "taxvat": Str(max_length=50, nullable=True),
        "website_id": Int(min_value=0),
        "group_id": Int(min_value=0),
        "store_id": Int(min_value=0),
        "custom_attributes": ListOf(CUSTOM_ATTRIBUTE),
        # Addresses are not modelled: accepted only empty.
        "addresses": ListOf(AnyValue(), max_items=0),
        "extension_attributes": Obj(
            "CustomerExtension",
            {"is_subscribed": Bool()},
            class_name="Magento\\Customer\\Api\\Data\\CustomerExtensionInterface",
        ),
        # Read-only or not modelled; accepted and ignored so that a client may send
        # back what it read.
        "created_at": AnyValue(),
        "updated_at": AnyValue(),
        "created_in": AnyValue(),
        "default_billing": AnyValue(),
        "default_shipping": AnyValue(),
        "confirmation": AnyValue(),
        "disable_auto_group_change": AnyValue(),
    },
    class_name="Magento\\Customer\\Api\\Data\\CustomerInterface",
)
READ_ONLY = (
    "created_at",
    "updated_at",
    "created_in",
    "default_billing",
    "default_shipping",
    "confirmation",
    "disable_auto_group_change",
    "addresses",
    "extension_attributes",
)


def check_password(password: str, email: str | None = None) -> None:
    """Raise Invalid unless `password` meets Magento's default password rules."""
    if password != password.strip():
        raise Invalid(
            "The password can't begin or end with a space. Verify the password and try again.",
            [],
            ("password",),
        )
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(
            "The password needs at least %1 characters. Create a new password and try again.",
            [PASSWORD_MIN_LENGTH],
            ("password",),
        )
    classes = (
        any(c.islower() for c in password)
        + any(c.isupper() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    if classes < PASSWORD_MIN_CLASSES:
        raise Invalid(
            "Minimum of different classes of characters in password is %1. Classes of characters: "
            "Lower Case, Upper Case, Digits, Special Characters.",
            [PASSWORD_MIN_CLASSES],
            ("password",),
        )
    if email and password.lower() == email.lower():
        raise Invalid(
            "The password can't be the same as the email address. "
            "Create a new password and try again.",
            [],
            ("password",),
        )


def _check_body_password(data: dict[str, Any]) -> None:
    password = data.get("password")
    if password is not None:
        check_password(password, data["customer"].get("email"))


class CustomerCreateRequest(RequestSerializer):
    """`{"customer": {...}, "password": "..."}` for POST /V1/customers."""

    spec = Obj(
        "CustomerCreateBody",
        {
            "customer": CUSTOMER.but(required=True),
            "password": Str(max_length=256),
            "redirectUrl": AnyValue(),
        },
        strict=False,
        validate=_check_body_password,
    )


class CustomerUpdateRequest(RequestSerializer):
    """`{"customer": {...}}` for PUT /V1/customers/:customerId."""

    spec = Obj(
        "CustomerUpdateBody",
        {
            "customer": CUSTOMER.but(required=True),
            "customerId": Int(min_value=1),
            "passwordHash": AnyValue(),
        },
        strict=False,
    )


def render_customer(customer: Customer) -> dict[str, Any]:
    """Return Magento's customer answer. The password hash is never part of it."""
    answer: dict[str, Any] = {
        "id": customer.pk,
        "group_id": customer.group_id,
        "created_at": timestamp(customer.created_at),
        "updated_at": timestamp(customer.updated_at),
        "created_in": customer.created_in,
        "email": customer.email,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
    }
    for key in ("middlename", "prefix", "suffix", "taxvat"):
        if getattr(customer, key):
            answer[key] = getattr(customer, key)
    if customer.dob is not None:
        answer["dob"] = customer.dob.isoformat()
    if customer.gender is not None:
        answer["gender"] = customer.gender
    answer["store_id"] = customer.store_id
    answer["website_id"] = customer.website_id
    answer["addresses"] = []
    answer["disable_auto_group_change"] = 0
    answer["extension_attributes"] = {"is_subscribed": False}
    answer["custom_attributes"] = list(customer.custom_attributes or [])
    return answer
