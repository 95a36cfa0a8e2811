"""The store scope (Magento_Store): websites and store views.

An app of its own because both the Web API (store codes in URLs, `/rest/<code>/V1/…`)
and the catalog (store-scoped values) need it, and neither may import the other.
"""
