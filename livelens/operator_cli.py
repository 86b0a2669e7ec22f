"""The operator's commands of ``livelens``: list accounts and users, set an account's
seats and subscription end, and get a user back in (a new password, a lifted lockout,
second factor reset, enable, role).

Every command finds the user by e-mail address on whichever account has it; changes
are audited in that account as done by "cli".
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from functools import partial

from livelens.errors import InvalidInput
from livelens.services import accounts, operator, subscription
from livelens.services.audit import CLI
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
    text = "set an account's seats and subscription end (what its administrators see)"
    setting = tenant.add_parser("set", help=text, description=text)
    common(setting)
    setting.add_argument("--name", required=True, help="account name")
    setting.add_argument(
        "--seats", metavar="N", help="how many users may be active at once, or 'unlimited'"
    )
    setting.add_argument("--subscription-ends", metavar="YYYY-MM-DD",
                         help="the subscription's last day (UTC): from the next day on, "
                         "nobody starts a session; or 'none'")  # fmt: skip


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
        case ("tenant", "set"):
            return _terms_setter(args)
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
        + (f"  seats={t.seats}" if t.seats is not None else "")
        + (f"  subscription-ends={t.subscription_ends}" if t.subscription_ends else "")
        for t in tenants
    )


def _terms_setter(args: argparse.Namespace) -> Action:
    """``tenant set``: what was given is checked before the store is opened."""
    if args.seats is None and args.subscription_ends is None:
        raise InvalidInput("Give --seats, --subscription-ends or both.")
    seats = None if args.seats is None else subscription.parse_seats(args.seats)
    ends = None if args.subscription_ends is None else subscription.parse_end(
        args.subscription_ends)  # fmt: skip

    async def action(ctx: Context) -> str:
        tenant = await accounts.find_tenant(ctx, args.name)
        updated = await subscription.set_terms(
            ctx, tenant, CLI,
            seats=tenant.seats if args.seats is None else seats,
            ends=tenant.subscription_ends if args.subscription_ends is None else ends,
        )  # fmt: skip
        used = await subscription.seats_used(ctx.store.scoped(tenant.id))
        total = "no seat limit" if updated.seats is None else f"{updated.seats} seats"
        ends_text = ("no subscription end" if updated.subscription_ends is None
                     else f"subscription until {updated.subscription_ends} (UTC)")  # fmt: skip
        lines = [f"Account {updated.name!r}: {total} ({used} in use), {ends_text}."]
        if updated.seats is not None and used > updated.seats:
            lines.append(f"{used - updated.seats} more users are active than there are "
                         "seats: nobody is disabled, but no user can be added or enabled "
                         "until enough are disabled or deleted.")  # fmt: skip
        if not subscription.active(updated):
            lines.append("The subscription has ended: nobody can start a session; "
                         "administrators can still read and export.")  # fmt: skip
        return "\n".join(lines)

    return action


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
