"""Websites, store groups and store views: the scopes values can be set in, as in Magento.

Magento's structure: a website has store groups (each with a root category and a
default store view), a group has store views. The default install has website 0
`admin` with group 0 `default` and store 0 `admin` (the global scope), and website 1
`base` with group 1 `main_website_store` (root category 2) and store 1 `default`.
"""

from __future__ import annotations

from django.db import models

ADMIN_STORE_ID = 0  # the global (admin) scope, `/rest/all/...`
DEFAULT_STORE_ID = 1  # `/rest/V1/...` and `/rest/default/...`


class Website(models.Model):
    id = models.PositiveIntegerField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=255)
    # Null only while a website is being set up (its group needs the website first).
    default_group = models.ForeignKey(
        "StoreGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class StoreGroup(models.Model):
    """A store group (Magento's "store"): a website's catalog root and default view."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=255)
    website = models.ForeignKey(Website, on_delete=models.PROTECT, related_name="groups")
    # The category id of the group's root (Magento's root_category_id; 0 for the admin
    # group). A plain number: the store app knows nothing of the catalog.
    root_category_id = models.PositiveIntegerField(default=0)
    default_store = models.ForeignKey(
        "Store", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Store(models.Model):
    """A store view. Id 0 (`admin`, reached as `all`) is the global scope."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=255)
    website = models.ForeignKey(Website, on_delete=models.PROTECT, related_name="stores")
    # Null for a store view created without one: it then belongs to its website's
    # default group (see `store_group_id`).
    group = models.ForeignKey(
        StoreGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="stores"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_admin(self) -> bool:
        return self.id == ADMIN_STORE_ID

    @property
    def store_group_id(self) -> int:
        """Return the store's group id: its own, else its website's default group, else 0."""
        if self.group_id is not None:
            return self.group_id
        return self.website.default_group_id or 0
