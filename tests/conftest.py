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
]


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
