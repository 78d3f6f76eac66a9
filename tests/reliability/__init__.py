"""Reliability tests (issue 4, section 3): crashes, concurrency, hostile input, isolation and secrets."""
