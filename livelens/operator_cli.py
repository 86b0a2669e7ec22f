"""The operator's commands of ``livelens``: list accounts and users, and get a user back
in (a new password, a lifted lockout, second factor reset, enable, role).

Every command finds the user by e-mail address on whichever account has it; changes
are audited in that account as done by "cli".
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from functools import partial

from livelens.services import accounts, operator
from livelens.services.context import Context

Action = Callable[[Context], Awaitable[str]]
AddCommon = Callable[[argparse.ArgumentParser], None]


def read_secret(value: str, prompt: str) -> str:
    """A password from the argument, or from standard input or a prompt when it is '-'."""
    if value != "-":
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)  # Ctrl-D raises EOFError: the CLI says so in a line
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def add_tenant_commands(tenant: argparse._SubParsersAction[argparse.ArgumentParser],
                        common: AddCommon) -> None:  # fmt: skip
    common(tenant.add_parser("list", help="list the accounts of this instance"))


def add_user_commands(user: argparse._SubParsersAction[argparse.ArgumentParser],
                      common: AddCommon) -> None:  # fmt: skip
    listing = user.add_parser("list", help="list users (of one account, or of all)")
    common(listing)
    listing.add_argument("--tenant", help="account name (default: every account)")
    for name, text in [
        ("set-password", "give a user a new password (signs them out everywhere)"),
        ("unlock", "lift the sign-in lockout of an address"),
        ("disable", "stop a user from signing in (signs them out everywhere)"),
        ("enable", "let a disabled user sign in again"),
        ("set-role", "make a user an administrator or an agent"),
        ("reset-2fa", "turn off a user's two-factor authentication (lost phone and codes)"),
    ]:
        command = user.add_parser(name, help=text, description=text)
        common(command)
        command.add_argument("--email", required=True)
        if name == "set-password":
            command.add_argument(
                "--password", required=True, help="'-' reads it from standard input"
            )
        if name == "set-role":
            command.add_argument("--role", required=True, choices=("agent", "admin"))


def action_for(args: argparse.Namespace) -> Action | None:
    """The operator action for these arguments, or None when the command is another's."""
    match (args.command, getattr(args, "action", None)):
        case ("tenant", "list"):
            return _list_tenants
        case ("user", "list"):
            return partial(_list_users, args.tenant)
        case ("user", "set-password"):
            return partial(_set_password, args.email, read_secret(args.password, "New password: "))
        case ("user", "unlock"):
            return partial(_unlock, args.email)
        case ("user", "disable" | "enable"):
            return partial(_set_disabled, args.email, args.action == "disable")
        case ("user", "set-role"):
            return partial(_set_role, args.email, args.role)
        case ("user", "reset-2fa"):
            return partial(_reset_second_factor, args.email)
    return None


async def _list_tenants(ctx: Context) -> str:
    tenants = await operator.list_tenants(ctx)
    if not tenants:
        return "No accounts yet."
    return "\n".join(
        f"{t.name}  region={t.region}  2fa-required={'yes' if t.require_totp else 'no'}"
        for t in tenants
    )


async def _list_users(tenant_name: str | None, ctx: Context) -> str:
    rows = await operator.list_users(ctx, tenant_name)
    if not rows:
        return "No users."
    return "\n".join(
        f"{user.email}  {user.role}  {'disabled' if user.disabled else 'active'}  "
        f"2fa={'on' if user.totp_enabled else 'off'}  name={user.display_name!r}  "
        f"account={tenant.name!r}"
        for tenant, user in rows
    )


async def _set_password(email: str, password: str, ctx: Context) -> str:
    user = await operator.on_user(ctx, email, partial(accounts.update_user, password=password))
    return f"New password set for {user.email}; they are signed out everywhere."


async def _unlock(email: str, ctx: Context) -> str:
    await operator.unlock(ctx, email)
    return f"Sign-in is open again for {email.strip().lower()}."


async def _set_disabled(email: str, disabled: bool, ctx: Context) -> str:
    user = await operator.on_user(ctx, email, partial(accounts.update_user, disabled=disabled))
    return f"{user.email} is {'disabled' if disabled else 'enabled'}."


async def _set_role(email: str, role: str, ctx: Context) -> str:
    user = await operator.on_user(ctx, email, partial(accounts.update_user, role=role))
    return f"{user.email} is now {'an administrator' if role == 'admin' else 'an agent'}."


async def _reset_second_factor(email: str, ctx: Context) -> str:
    user = await operator.on_user(ctx, email, accounts.reset_second_factor)
    return (
        f"Two-factor authentication is off for {user.email}; they are signed out "
        "everywhere and set it up again at their next sign-in where the account requires it."
    )
