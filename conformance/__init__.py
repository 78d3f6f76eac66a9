"""Conformance kit: checks any implementation of the queue-response endpoint against the contract."""
