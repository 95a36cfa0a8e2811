"""Secret fields of stored operations (a customer's password), encrypted at rest.

At accept time every value under a secret key (`operations.items.SECRET_KEYS`) is
masked in the stored item and kept, with its path, in one Fernet token under
`serialized_data`'s `encrypted_secrets` key. Every answer and page shows the item,
so only the mask. The consumer decrypts just before the route's service runs; once
the operation is complete or has failed for good, the token is erased
(`items.redact_secrets`). A retriably failed operation keeps it, so a retry runs.

The keys: `OPERATIONS_SECRET_KEYS`, comma-separated, the first encrypts, all are tried
to decrypt (rotation: put a new key first, run `manage.py operations_rotate_secrets`,
then drop the old one). A key that is not a Fernet key (any passphrase) is hashed into
one. Unset, one key is derived from `SECRET_KEY`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from operations import items as item_rules
from operations.conf import operations_settings
from operations.exceptions import LocalizedException

UNREADABLE = (
    "The operation's secret fields could not be decrypted with any key in "
    "OPERATIONS_SECRET_KEYS (the key that encrypted them is missing or wrong). Restore "
    "that key, then retry the operation."
)
ERASED = "The operation's secret fields (%1) were erased. Edit the operation to give them again."


class SecretsUnreadable(LocalizedException):
    """No configured key decrypts an operation's secrets (retriable once the key is back)."""

    def __init__(self) -> None:
        super().__init__(UNREADABLE)


class SecretsErased(LocalizedException):
    """An operation's secrets were erased (it failed for good); it cannot run unedited."""

    def __init__(self, keys: Iterable[str]) -> None:
        super().__init__(ERASED, [", ".join(sorted(set(keys)))])


def _fernet_key(text: str) -> bytes:
    """Return `text` if it is a Fernet key, else a Fernet key hashed from it."""
    try:
        if len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32:
            return text.encode("ascii")
    except (binascii.Error, UnicodeEncodeError, ValueError):
        pass
    digest = hashlib.sha256(b"operations-secrets:" + text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> tuple[str, ...]:
    """Return the keys, newest (the one that encrypts) first."""
    keys = tuple(k.strip() for k in operations_settings.SECRET_KEYS if k.strip())
    return keys or (f"derived-from-secret-key:{settings.SECRET_KEY}",)


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def fernet() -> MultiFernet:
    return _fernet_for(configured_keys())


def seal(item: Any, item_json: str | None = None, *, erase: bool = False) -> str:
    """Return the `serialized_data` of `item`, its secret values masked and encrypted
    beside it (`erase`: masked only, for an operation that will never run unedited).

    A value that is already the mask is not a secret given (an edit that kept the
    mask): it stays masked, and running tells the operation's secrets were erased.
    """
    if item_json is not None and not item_rules.has_secret_key(item_json):
        return item_rules.serialize_item(item, item_json)
    masked, found = item_rules.mask_secrets(item)
    if not found:
        return item_rules.serialize_item(item, item_json)
    secrets = [[path, value] for path, value in found if value != item_rules.REDACTED]
    outer: dict[str, Any] = {
        "entity_id": None,
        "entity_link": "",
        "meta_information": json.dumps(masked, ensure_ascii=False),
    }
    if secrets and not erase:
        plain = json.dumps(secrets, ensure_ascii=False).encode("utf-8")
        outer[item_rules.ENCRYPTED_SECRETS] = fernet().encrypt(plain).decode("ascii")
    return json.dumps(outer, ensure_ascii=False)


def _token(serialized_data: str) -> str | None:
    if item_rules.ENCRYPTED_SECRETS not in serialized_data:
        return None
    outer = json.loads(serialized_data)
    token = outer.get(item_rules.ENCRYPTED_SECRETS) if isinstance(outer, dict) else None
    return token if isinstance(token, str) else None


def _decrypt(token: str) -> list[list[Any]]:
    try:
        plain = fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretsUnreadable() from exc
    secrets = json.loads(plain)
    return secrets if isinstance(secrets, list) else []


def _put(item: Any, path: list[Any], value: Any) -> None:
    target = item
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _restore(item: Any, secrets: list[list[Any]]) -> set[tuple[Any, ...]]:
    restored: set[tuple[Any, ...]] = set()
    for path, value in secrets:
        try:
            _put(item, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # the item changed shape (an edit): that secret is gone
        restored.add(tuple(path))
    return restored


def open_item(serialized_data: str) -> Any:
    """Return the item of `serialized_data` with its secrets decrypted (only to run it).

    Raise `SecretsUnreadable` if no key decrypts them, `SecretsErased` if a secret was
    erased (only its mask is left).
    """
    item = item_rules.deserialize_item(serialized_data)
    token = _token(serialized_data)
    if token is None and not item_rules.has_secret_key(serialized_data):
        return item
    restored = _restore(item, _decrypt(token)) if token is not None else set()
    _, found = item_rules.mask_secrets(item)
    erased = [
        str(path[-1])
        for path, value in found
        if value == item_rules.REDACTED and tuple(path) not in restored
    ]
    if erased:
        raise SecretsErased(erased)
    return item


def keep_masked_secrets(previous: str, item: Any) -> Any:
    """Return an edited `item` with each value left masked replaced by the secret the
    operation carried there (`previous`, its `serialized_data`), if it still has one."""
    token = _token(previous)
    if token is None or not isinstance(item, dict | list):
        return item
    secrets = _decrypt(token)
    _, found = item_rules.mask_secrets(item)
    masked = {tuple(path) for path, value in found if value == item_rules.REDACTED}
    _restore(item, [[path, value] for path, value in secrets if tuple(path) in masked])
    return item


def rotated(serialized_data: str) -> str | None:
    """Return `serialized_data` with its secrets encrypted with the newest key, or None if
    it carries none. Raise `SecretsUnreadable` if no key decrypts them."""
    token = _token(serialized_data)
    if token is None:
        return None
    try:
        fresh = fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretsUnreadable() from exc
    outer = json.loads(serialized_data)
    outer[item_rules.ENCRYPTED_SECRETS] = fresh
    return json.dumps(outer, ensure_ascii=False)
