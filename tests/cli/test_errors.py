"""Mistakes an operator makes get one `error: …` line and a non-zero exit, never a traceback;
a database that is not there yet is waited for."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import URL

from sentinai.config import Settings
from tests.cli.processes import UNREACHABLE, environment, sentinai
from tests.conftest import unique


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture
def test_database(database: Settings) -> dict[str, str]:
    """The environment of a command run against this session's migrated database."""
    assert database.database_url is not None
    return environment(DATABASE_URL=_url(database.database_url), MIGRATION_DATABASE_URL=_url(database.owner_url))


def assert_one_error_line(result, *fragments: str, exit_code: int = 2) -> None:
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["tenant", "create", "t", "--name", "T"]])
def test_an_unreachable_database_is_retried_then_named_in_one_line(command):
    started = time.monotonic()
    result = sentinai(*command, env=environment(DATABASE_URL=UNREACHABLE, DB_CONNECT_ATTEMPTS="3"))

    assert_one_error_line(result, "nobody@127.0.0.1:1/x", "unreachable after 3 attempts")
    assert result.stderr.count("retrying in") == 2
    assert time.monotonic() - started >= 0.25 + 0.5  # the backoff: 0.25 s, then 0.5 s


def test_an_unknown_role_is_refused_at_once_naming_the_role_and_the_server(server_url):
    url = server_url.set(username="nosuchrole")
    result = sentinai("tenant", "create", "t", "--name", "T", env=environment(DATABASE_URL=_url(url)))

    assert_one_error_line(result, "nosuchrole@", "refused the connection", 'role "nosuchrole" does not exist')
    assert "retrying" not in result.stderr  # the server's answer will not change


def test_an_unknown_database_is_refused_at_once(server_url):
    url = server_url.set(database="nosuchdatabase")
    result = sentinai("db", "upgrade", env=environment(DATABASE_URL=_url(url), DB_CONNECT_ATTEMPTS="5"))

    assert_one_error_line(result, "/nosuchdatabase", 'database "nosuchdatabase" does not exist')


def test_libpq_sslmode_in_a_pasted_url_is_understood(test_database):
    env = {**test_database, "DATABASE_URL": test_database["DATABASE_URL"] + "&sslmode=disable"}
    tenant = unique("ssl")

    result = sentinai("tenant", "create", tenant, "--name", "Over sslmode=disable", env=env)

    assert result.returncode == 0, result.stderr
    assert f"created tenant {tenant}" in result.stdout


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("sslmode=sometimes", "sslmode must be one of disable, allow, prefer"),
        ("channel_binding=require", "'channel_binding' is not supported"),
    ],
)
def test_a_url_parameter_asyncpg_cannot_honour_is_refused_in_one_line(query, complaint):
    result = sentinai("db", "upgrade", env=environment(DATABASE_URL=f"{UNREACHABLE}?{query}"))

    assert_one_error_line(result, "DATABASE_URL", complaint)


def test_seeding_the_same_plan_twice_seeds_it_once(test_database):
    plan = ["seed", "--tenants", "2", "--exceptions", "3", "--events", "1", "--prefix", unique("twice")]
    first = sentinai(*plan, env=test_database)
    second = sentinai(*plan, env=test_database)

    assert first.returncode == 0 and "seeded 2 tenants, 6 exceptions, 6 events" in first.stdout, first.stderr
    assert second.returncode == 0, second.stderr
    assert "seeded 0 tenants" in second.stdout and "2 tenants" in second.stdout and "already existed" in second.stdout


def test_a_negative_seed_size_is_refused_by_the_parser():
    result = sentinai("seed", "--tenants", "-1", env=environment(DATABASE_URL=UNREACHABLE))

    assert result.returncode == 2 and "must not be negative" in result.stderr and "Traceback" not in result.stderr


def test_exporting_the_schema_into_a_missing_directory_is_one_line(tmp_path):
    result = sentinai("export-schema", str(tmp_path / "no" / "such" / "schema.graphql"), env=environment())

    assert_one_error_line(result, "No such file or directory")


def test_verifying_the_history_of_an_unknown_tenant_says_it_does_not_exist(test_database):
    result = sentinai("verify-history", "--tenant", "nosuch", env=test_database)

    assert_one_error_line(result, "tenant nosuch does not exist")
