"""The catalog's models, one module per concept."""

from catalog.models.stores import ADMIN_STORE_ID, DEFAULT_STORE_ID, Store, Website

__all__ = ["ADMIN_STORE_ID", "DEFAULT_STORE_ID", "Store", "Website"]
