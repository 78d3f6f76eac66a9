"""Suite-wide fixtures. Keep this file a list of registrations; the code lives in tests/support."""

pytest_plugins = ["support.pytest_plugin", "support.mock_fixtures", "support.postgres"]
