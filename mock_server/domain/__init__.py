"""The mock's domain: fixtures, clock, scheduler, idempotency and storage. Knows nothing of HTTP."""
