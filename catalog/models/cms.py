"""CMS blocks: reusable pieces of content."""

from __future__ import annotations

from django.db import models


class Block(models.Model):
    identifier = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=255)
    content = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    creation_time = models.DateTimeField(auto_now_add=True)
    update_time = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "CMS block"

    def __str__(self) -> str:
        return self.identifier
