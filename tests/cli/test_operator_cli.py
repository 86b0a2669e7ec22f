"""The operator's rescue commands as run from a shell: a locked-out administrator
without their phone gets back in, and what the commands print."""

import argparse
from pathlib import Path

import pytest

from livelens.cli import build_parser
from tests.cli.test_cli import PASSWORD, assert_one_line_error, create_tenant, livelens


def test_tenant_and_user_lists(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    create_tenant(tmp_path, "Globex", "hank@globex.test")
    done = livelens(tmp_path, "user", "create", "--tenant", "Globex", "--email",
                    "ann.smith@globex.test", "--role", "agent", "--password", PASSWORD)  # fmt: skip
    assert done.returncode == 0, done.stderr
    tenants = livelens(tmp_path, "tenant", "list")
    assert tenants.stdout.splitlines() == [
        "Acme  region=eu  2fa-required=no",
        "Globex  region=eu  2fa-required=no",
    ]
    users = livelens(tmp_path, "user", "list", "--tenant", "Globex")
    assert users.stdout.splitlines() == [
        "ann.smith@globex.test  agent  active  2fa=off  name='Ann Smith'  account='Globex'",
        "hank@globex.test  admin  active  2fa=off  name='Hank'  account='Globex'",
    ]
    assert len(livelens(tmp_path, "user", "list").stdout.splitlines()) == 3


def test_rescue_commands_find_the_user_and_say_what_they_did(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    livelens(tmp_path, "user", "create", "--tenant", "Acme", "--email", "deputy@acme.test",
             "--role", "admin", "--password", PASSWORD)  # fmt: skip
    steps = [
        (["unlock"], "Sign-in is open again for boss@acme.test."),
        (["reset-2fa"], "Two-factor authentication is off for boss@acme.test"),
        (["disable"], "boss@acme.test is disabled."),
        (["enable"], "boss@acme.test is enabled."),
        (["set-role", "--role", "admin"], "boss@acme.test is now an administrator."),
        (["set-password", "--password", "another-pass-9"], "New password set for boss"),
    ]
    for args, said in steps:
        done = livelens(tmp_path, "user", args[0], "--email", "Boss@Acme.test", *args[1:])
        assert done.returncode == 0, done.stderr
        assert said in done.stdout


def test_the_last_administrator_cannot_be_disabled_from_the_shell_either(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    done = livelens(tmp_path, "user", "disable", "--email", "boss@acme.test")
    assert_one_line_error(done, "at least one active administrator")


@pytest.mark.parametrize(
    "args",
    [
        ["user", "set-password", "--email", "boss@acme.test", "--password", "-"],
        ["user", "create", "--tenant", "Acme", "--email", "x@acme.test", "--role", "agent",
         "--password", "-"],
    ],
)  # fmt: skip
def test_end_of_input_at_a_password_prompt_is_one_line(tmp_path: Path, args: list[str]) -> None:
    create_tenant(tmp_path)
    done = livelens(tmp_path, *args, stdin="")
    assert_one_line_error(done, "no password given")


def test_an_unknown_address_is_one_line(tmp_path: Path) -> None:
    create_tenant(tmp_path)
    done = livelens(tmp_path, "user", "unlock", "--email", "nobody@acme.test")
    assert done.returncode == 0  # unlocking an address nobody has is harmless (and says so)
    done = livelens(tmp_path, "user", "reset-2fa", "--email", "nobody@acme.test")
    assert_one_line_error(done, "No user has the address 'nobody@acme.test'.")


def test_help_texts_are_plain_text() -> None:
    """No reStructuredText from docstrings (``x``, :func:) in what --help prints."""
    parser = build_parser()
    texts = [parser.format_help()]
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    texts.append(sub.format_help())
                    stack.append(sub)
    assert len(texts) > 10
    for text in texts:
        assert "``" not in text
        assert ":func:" not in text and ":class:" not in text
