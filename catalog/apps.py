from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The merchant domain: stores, products, categories, customers, CMS blocks."""

    name = "catalog"
    verbose_name = "Catalog"
