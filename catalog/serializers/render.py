"""Shared helpers for rendering answers in Magento's formats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone


def timestamp(value: dt.datetime | None) -> str | None:
    """Return Magento's timestamp format, `2024-05-01 12:30:00` (UTC)."""
    if value is None:
        return None
    if timezone.is_aware(value):
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def decimal_out(value: Decimal | float | int) -> float | int:
    """Return a JSON number: an int when the value is integral, else a float."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return int(number)
    return float(number)
