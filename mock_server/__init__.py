"""Stateful mock of Sonarly's "Queue a scheduled message response" endpoint, driven by its contract."""
