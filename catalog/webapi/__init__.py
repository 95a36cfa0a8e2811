"""The Magento-compatible REST layer: service routes, store scope, tokens, errors.

Generic on purpose: any app declares its routes in its own `webapi.py`
(autodiscovered), and the asynchronous API in `operations` reuses the same registry.
"""
