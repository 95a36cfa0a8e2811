"""Shared fixtures. Area-specific fixtures live in tests/fixtures/*.py (one file per area)."""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.broker_lock",
    "tests.fixtures.webapi",
    "tests.fixtures.queues",
    "tests.fixtures.operations",
]
