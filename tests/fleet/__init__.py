"""Fleet tests (issue 9): three `sonarly-mock serve` replicas on one PostgreSQL database."""
