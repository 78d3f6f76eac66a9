"""Test-only helpers: the openapi-core exchange recorder and the pytest plugin that shares it."""
