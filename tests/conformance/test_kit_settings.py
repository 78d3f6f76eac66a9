"""Option resolution: command line > environment > config file, and usage errors for bad input."""

from __future__ import annotations

import pytest

from conformance.settings import UsageError, resolve

REQUIRED_CLI = {
    "base_url": "http://cli.example/",
    "api_key": "sk_cli",
    "account_group_id": "ag_cli",
    "prospect_id": "prs_cli",
}


def write_config(tmp_path, text: str):
    path = tmp_path / "kit.toml"
    path.write_text(text)
    return str(path)


def test_cli_wins_over_environment_which_wins_over_file(tmp_path) -> None:
    config = write_config(
        tmp_path,
        'base_url = "http://file.example"\napi_key = "sk_file"\naccount_group_id = "ag_file"\n'
        'prospect_id = "prs_file"\nconversation_id = "cnv_file"\ninmail_prospect_id = "prs_inmail_file"\n'
        "max_examples = 7\n",
    )
    environ = {"SONARLY_API_KEY": "sk_env", "SONARLY_CONVERSATION_ID": "cnv_env", "SONARLY_CONFIG": config}
    settings = resolve({"conversation_id": "cnv_cli", "api_key": None}, environ)
    assert settings.base_url == "http://file.example"
    assert settings.api_key == "sk_env"
    assert settings.conversation_id == "cnv_cli"
    assert settings.inmail_prospect_id == "prs_inmail_file"
    assert settings.max_examples == 7


def test_cli_config_option_and_types(tmp_path) -> None:
    config = write_config(tmp_path, 'profile = "quick"\nseed = 3\nmax_time = 12.5\nverbose = true\n')
    settings = resolve({**REQUIRED_CLI, "config": config}, {})
    assert (settings.profile, settings.seed, settings.max_time, settings.verbose) == ("quick", 3, 12.5, True)
    assert settings.base_url == "http://cli.example"  # trailing slash dropped


def test_environment_values_are_converted() -> None:
    environ = {"SONARLY_MAX_EXAMPLES": "4", "SONARLY_VERBOSE": "yes", "SONARLY_PROFILE": "thorough"}
    settings = resolve(REQUIRED_CLI, environ)
    assert (settings.max_examples, settings.verbose, settings.profile) == (4, True, "thorough")


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        ({}, {}, "--base-url, --api-key, --account-group-id, --prospect-id"),
        ({**REQUIRED_CLI, "base_url": "ftp://x"}, {}, "http(s) URL"),
        ({**REQUIRED_CLI, "profile": "huge"}, {}, "--profile"),
        (REQUIRED_CLI, {"SONARLY_MAX_EXAMPLES": "many"}, "max_examples"),
        (REQUIRED_CLI, {"SONARLY_MAX_TIME": "0"}, "--max-time must be positive"),
        ({**REQUIRED_CLI, "config": "/nonexistent/kit.toml"}, {}, "does not exist"),
    ],
)
def test_usage_errors(options, environ, message) -> None:
    with pytest.raises(UsageError, match=None) as error:
        resolve(options, environ)
    assert message in str(error.value)


def test_config_file_rejects_unknown_keys_and_bad_toml(tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown keys: api_token"):
        resolve({**REQUIRED_CLI, "config": write_config(tmp_path, 'api_token = "x"\n')}, {})
    with pytest.raises(UsageError, match="not valid TOML"):
        resolve({**REQUIRED_CLI, "config": write_config(tmp_path, "base_url = \n")}, {})


def test_mock_fixtures_output_is_a_valid_config(tmp_path) -> None:
    from click.testing import CliRunner

    from mock_server.cli import main as mock_cli

    printed = CliRunner().invoke(mock_cli, ["fixtures", "--format", "toml"]).output
    settings = resolve({"config": write_config(tmp_path, printed)}, {})
    assert settings.account_group_id == "ag_acme"
    assert settings.restricted_api_key and settings.foreign_account_group_id
