"""Websites and stores: the scopes values can be set in, as in Magento."""

from __future__ import annotations

from django.db import models

ADMIN_STORE_ID = 0  # the global (admin) scope, `/rest/all/...`
DEFAULT_STORE_ID = 1  # `/rest/V1/...` and `/rest/default/...`


class Website(models.Model):
    id = models.PositiveIntegerField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A store view. Id 0 (`admin`, reached as `all`) is the global scope."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=255)
    website = models.ForeignKey(Website, on_delete=models.PROTECT, related_name="stores")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_admin(self) -> bool:
        return self.id == ADMIN_STORE_ID
