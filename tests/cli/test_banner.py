"""The start-up banner points where things are: GraphiQL's page where it exists, never where it does not."""

from __future__ import annotations

import argparse
from dataclasses import replace

from sentinai.cli import _announce
from sentinai.config import Settings

ARGS = argparse.Namespace(host="0.0.0.0", port=8000)


def test_production_says_graphiql_is_off_instead_of_advertising_a_missing_page(capsys):
    _announce(ARGS, replace(Settings(), environment="production"), {}, 1.0)

    printed = capsys.readouterr().out
    assert "GraphiQL is off in production" in printed
    assert "open http" not in printed


def test_development_names_the_page_and_its_key_field(capsys):
    _announce(ARGS, Settings(), {"northbank viewer": "sk_demo"}, 1.0)

    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8000/graphql" in printed
    assert "API key field" in printed or "install-assets" in printed
    assert "northbank viewer" in printed and "sk_demo" in printed


def test_the_console_url_is_printed_where_the_console_is_served(capsys):
    _announce(ARGS, Settings(), {}, 1.0)
    _announce(ARGS, replace(Settings(), environment="production"), {}, 1.0)

    printed = capsys.readouterr().out
    assert printed.count("http://127.0.0.1:8000/console") == 1
