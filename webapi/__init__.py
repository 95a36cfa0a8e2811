"""The Magento-compatible REST layer: service routes, store scope, tokens, errors.

A Django app of its own (label `rest`) so that its models (integrations, tokens) and
migrations stand apart from the catalog domain. Generic on purpose: any app declares
its routes in its own `webapi.py` (autodiscovered), and the asynchronous API in
`operations` reuses the same registry.
"""
