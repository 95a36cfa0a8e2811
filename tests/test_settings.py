"""App settings are read one way: declared once per app, converted once, reloaded on change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from config.appsettings import (
    AppSettings,
    FromEnvironment,
    boolean,
    counts,
    integer,
    number,
    text_list,
)
from operations.conf import operations_settings
from queues.conf import queue_settings


def test_an_overridden_setting_is_read_again_and_restored_afterwards():
    assert operations_settings.MAX_ATTEMPTS == 5
    with override_settings(OPERATIONS={"MAX_ATTEMPTS": "7"}):
        assert operations_settings.MAX_ATTEMPTS == 7  # converted from text, like the environment's
    assert operations_settings.MAX_ATTEMPTS == 5


def test_a_value_from_the_environment_that_does_not_fit_names_its_variable(settings):
    settings.QUEUES = {"MAX_TRIALS": FromEnvironment("lots", "QUEUE_MAX_TRIALS")}
    with pytest.raises(
        ImproperlyConfigured, match="QUEUE_MAX_TRIALS must be an integer, got 'lots'"
    ):
        _ = queue_settings.MAX_TRIALS


def test_a_value_from_python_that_does_not_fit_names_the_setting(settings):
    settings.QUEUES = {"EMBEDDED_CONSUMERS": "perhaps"}
    with pytest.raises(ImproperlyConfigured, match=r"QUEUES\['EMBEDDED_CONSUMERS'\] must be 1/0"):
        _ = queue_settings.EMBEDDED_CONSUMERS


def test_validate_refuses_a_key_no_app_declares(settings):
    settings.QUEUES = {"MAX_TRAILS": 3}
    with pytest.raises(ImproperlyConfigured, match="QUEUES has no setting"):
        queue_settings.validate()


def test_each_kind_converts_text_and_python_values_alike():
    declared = AppSettings(
        "TEST_KINDS_UNUSED",
        {
            "I": (0, integer),
            "N": (0.0, number),
            "B": (False, boolean),
            "L": ([], text_list),
            "C": ({}, counts),
        },
    )
    assert declared.I == 0 and declared.B is False  # nothing set: the defaults
    assert integer(" 12 ") == integer(12) == 12
    assert number("0.5") == number(0.5) == 0.5
    assert boolean("on") is boolean(True) is True and boolean("0") is False
    assert text_list("a, b,,c") == text_list(["a", "b", "c"]) == ["a", "b", "c"]
    assert counts("x=4, y=1") == counts({"x": 4, "y": "1"}) == {"x": 4, "y": 1}
    for kind, bad in ((integer, "1.5"), (integer, True), (boolean, "maybe"), (counts, "x=many")):
        with pytest.raises((TypeError, ValueError)):
            kind(bad)
