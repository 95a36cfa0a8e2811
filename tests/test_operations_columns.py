"""Every column of an operation row is written by someone: the groups cover the model exactly."""

from __future__ import annotations

import pytest

from operations.bulkwrite import new_operation
from operations.models import (
    DELIVERY_COLUMNS,
    IDENTITY_COLUMNS,
    OPERATION_COLUMNS,
    OUTCOME_COLUMNS,
    PAYLOAD_COLUMNS,
    REOPEN_COLUMNS,
    Operation,
)

GROUPS = (IDENTITY_COLUMNS, PAYLOAD_COLUMNS, OUTCOME_COLUMNS, DELIVERY_COLUMNS)


def test_every_column_of_the_operation_model_is_in_exactly_one_group():
    grouped = [column for group in GROUPS for column in group]
    assert sorted(grouped) == sorted(f.attname for f in Operation._meta.concrete_fields)
    assert len(grouped) == len(set(grouped))
    assert set(OPERATION_COLUMNS) == set(grouped)


def test_a_retry_rewrites_every_outcome_and_delivery_column_but_keeps_the_attempts():
    assert set(REOPEN_COLUMNS) == (set(OUTCOME_COLUMNS) | set(DELIVERY_COLUMNS)) - {"attempts"}


def test_a_new_operation_row_refuses_a_missing_or_unknown_column():
    columns = dict.fromkeys(OPERATION_COLUMNS)
    assert vars(new_operation(**columns)) == columns
    del columns["sweeps"]
    with pytest.raises(TypeError, match=r"missing \['sweeps'\]"):
        new_operation(**columns)
    with pytest.raises(TypeError, match=r"unknown \['colour'\]"):
        new_operation(**dict.fromkeys(OPERATION_COLUMNS), colour="red")
