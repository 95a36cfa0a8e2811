"""Customers: one account per email and website, as in Magento."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from store.models import Store, Website


class Customer(models.Model):
    class Gender(models.IntegerChoices):
        NOT_SPECIFIED = 0, "Not Specified"
        MALE = 1, "Male"
        FEMALE = 2, "Female"

    email = models.EmailField(max_length=255)
    firstname = models.CharField(max_length=255)
    lastname = models.CharField(max_length=255)
    middlename = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=40, blank=True)
    suffix = models.CharField(max_length=40, blank=True)
    dob = models.DateField(null=True, blank=True)
    gender = models.PositiveSmallIntegerField(choices=Gender.choices, null=True, blank=True)
    taxvat = models.CharField(max_length=50, blank=True)
    website = models.ForeignKey(Website, on_delete=models.PROTECT, related_name="customers")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="customers")
    group_id = models.PositiveIntegerField(default=1)
    created_in = models.CharField(max_length=255, blank=True)
    # A Django password hash (django.contrib.auth.hashers); never rendered.
    password_hash = models.CharField(max_length=255, blank=True)
    custom_attributes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Magento's unique (email, website_id) under a case-insensitive collation.
            models.UniqueConstraint(
                Lower("email"), "website", name="catalog_customer_email_website_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["email"], name="catalog_customer_email_idx"),
            models.Index(fields=["updated_at"], name="catalog_customer_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} (website {self.website_id})"
