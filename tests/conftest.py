"""Shared fixtures. Area-specific fixtures live in tests/fixtures/*.py (one file per area)."""

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.broker_lock",
    "tests.fixtures.webapi",
    "tests.fixtures.queues",
    "tests.fixtures.operations",
    "tests.fixtures.dashboard",
    "tests.fixtures.browser",
    "tests.fixtures.faults",
]


@pytest.fixture(autouse=True)
def _fresh_attribute_definitions():
    """Forget the attribute definitions a product save caches: a test's rolled-back
    attributes must not be seen by the next test."""
    from catalog.services.attribute_checks import forget_definitions

    forget_definitions()
    yield
    forget_definitions()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hash test passwords with a fast hasher: the real one costs ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(items):
    """Refuse transactional tests that would wipe the data migrations' rows.

    A `transaction=True` test ends with a flush that deletes the stores, the default
    categories and the content types; a later `serialized_rollback` test then fails to
    restore them. Every transactional test therefore restores them itself.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use django_db(transaction=True, serialized_rollback=True)"
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the body of every passing test with database access (before its fixtures
    are torn down), check that no bulk's counters drifted from its operations: every
    scenario of the suite doubles as a test of the counters."""
    result = yield
    if _uses_database(item):
        _check_bulk_counters()
    return result


def _uses_database(item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return item.get_closest_marker("django_db") is not None or any(
        name in fixtures for name in ("db", "transactional_db")
    )


def _check_bulk_counters() -> None:
    from django.db import connection

    from operations.actions import recount_bulks

    if connection.needs_rollback:
        return  # the test left its transaction broken on purpose: nothing can be read
    drifts = recount_bulks(fix=False)
    if drifts:
        lines = "\n".join(f"  {drift}" for drift in drifts)
        pytest.fail(
            f"the counters of {len(drifts)} bulk(s) drifted from their operations "
            f"(operations.actions.recount_bulks):\n{lines}",
            pytrace=False,
        )
