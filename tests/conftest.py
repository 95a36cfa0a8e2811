"""Shared fixtures. Area-specific fixtures live in tests/fixtures/*.py (one file per area)."""

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.broker_lock",
    "tests.fixtures.webapi",
    "tests.fixtures.queues",
    "tests.fixtures.operations",
]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hash test passwords with a fast hasher: the real one costs ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
