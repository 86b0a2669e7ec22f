"""The ``livelens`` command: run a node and manage accounts and users."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from livelens import certificate_cli, operator_cli
from livelens.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MEDIA_PORT,
    DEFAULT_PER_CLIENT,
    DEFAULT_PORT,
    DEFAULT_SESSION_TTL,
    REGIONS,
    Settings,
    default_data_dir,
    store_url_for,
)
from livelens.errors import LiveLensError
from livelens.server import open_context, serve
from livelens.services import accounts, alert_syslog, alert_targets, keys
from livelens.services.audit import CLI
from livelens.services.context import Context


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"LIVELENS_{name}", default)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=_env("STORE"),
        help="sqlite:///path/file.db (default: livelens.db in the data dir) or mongodb://...",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("DATA_DIR") or default_data_dir()),
        help="where the store file, keys and certificates live",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livelens", description="Run a LiveLens node, and manage its accounts, users and keys."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _common(serve)
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    serve.add_argument("--region", choices=REGIONS, default=_env("REGION", "eu"))
    serve.add_argument("--public-url", default=_env("PUBLIC_URL"))
    serve.add_argument(
        "--allowed-hosts",
        default=_env("ALLOWED_HOSTS", ""),
        metavar="NAME[,NAME...]",
        help="more host names the server is reached by, for join links without --public-url",
    )
    serve.add_argument("--tls-cert", type=Path, default=_path_env("TLS_CERT"))
    serve.add_argument("--tls-key", type=Path, default=_path_env("TLS_KEY"))
    serve.add_argument(
        "--media-announce-ip",
        default=_env("MEDIA_ANNOUNCE_IP", ""),
        metavar="IP[,IP...]",
        help="public IPv4 address(es) to offer for media instead of the machine's own, "
        "for a server behind 1:1 NAT (the media port must be forwarded to it)",
    )
    _checked_options(serve)

    tenant = commands.add_parser("tenant", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    create_tenant = tenant.add_parser("create", help="create an account and its administrator")
    _common(create_tenant)
    create_tenant.add_argument("--name", required=True)
    create_tenant.add_argument("--region", required=True, choices=REGIONS)
    create_tenant.add_argument("--admin-email", required=True)
    create_tenant.add_argument(
        "--admin-password", required=True, help="'-' reads it from standard input"
    )
    operator_cli.add_tenant_commands(tenant, _common)

    key_commands = commands.add_parser("keys", help="manage master keys").add_subparsers(
        dest="action", required=True
    )
    _common(key_commands.add_parser("rotate", help="put a new master key first and reseal with it"))
    _common(
        key_commands.add_parser(
            "reseal", help="reseal with the current master key (after editing LIVELENS_MASTER_KEY)"
        )
    )

    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    create_user = user.add_parser("create", help="add a user to an account")
    _common(create_user)
    create_user.add_argument("--tenant", required=True, help="account name")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", required=True, choices=("agent", "admin"))
    create_user.add_argument(
        "--display-name", help="what customers see (default: made from the e-mail address)"
    )
    create_user.add_argument("--password", required=True, help="'-' reads it from standard input")
    operator_cli.add_user_commands(user, _common)

    security_log = commands.add_parser(
        "security-log", help="list instance-level security events (no account known), newest first"
    )
    _common(security_log)
    security_log.add_argument("--limit", type=int, default=100, help="how many (1-1000)")
    certificate_cli.add_command(commands)
    return parser


def _checked_options(serve: argparse.ArgumentParser) -> None:
    for flag, kind, default, help_text in [
        ("--port", _port, DEFAULT_PORT, "TCP port for HTTP(S)"),
        ("--media-port", _port, DEFAULT_MEDIA_PORT, "UDP port for all media (0: any free port)"),
        ("--session-ttl", _whole_seconds, DEFAULT_SESSION_TTL, "seconds a sign-in lasts"),
        ("--rejoin-grace", _seconds, Settings.rejoin_grace,
         "seconds a live session waits for its customer, or for any agent, to come back"),
        ("--header-timeout", _seconds, DEFAULT_HEADER_TIMEOUT,
         "seconds a new HTTP connection has to send its first request's head"),
        ("--idle-timeout", _seconds, DEFAULT_IDLE_TIMEOUT,
         "seconds a kept-alive HTTP connection may wait for its next request"),
        ("--body-timeout", _seconds, DEFAULT_BODY_TIMEOUT,
         "seconds to receive a whole request body"),
        ("--max-connections", _count, 0,
         "open HTTP connections in all (0: the open-file limit less a reserve)"),
        ("--max-connections-per-client", _count, DEFAULT_PER_CLIENT,
         "open HTTP connections per client address (0: no cap; behind a reverse "
         "proxy, every connection comes from the proxy's address)"),
        ("--alert-webhook", alert_targets.webhook_option, "",
         "URL the instance's security alerts are POSTed to, signed with "
         "LIVELENS_ALERT_WEBHOOK_SECRET (else the secret in alert-webhook.secret in the "
         "data dir, made on the first start)"),
        ("--syslog", alert_syslog.syslog_option, "",
         "also send security events to syslog: udp://host[:port], tcp://host[:port] or a "
         "unix socket path such as /dev/log"),
        ("--media-on-web-port", _yes_no_auto, "auto",
         "yes: media also reaches the server over ICE-TCP on the HTTP(S) port (443), "
         "which the data plane then shares with the web server; no: only on the media "
         "port; auto (the default): yes when the port is 443 or serves HTTPS"),
        ("--alert-hooks-private", _yes_no, "no",
         "yes: accounts' alert webhooks may reach private and loopback addresses, and "
         "http:// on loopback (on-premises receivers, tests); no (the default): public "
         "https:// only"),
    ]:  # fmt: skip
        # argparse parses a string default with the option's type too, so a bad
        # LIVELENS_* value is refused as clearly as a bad flag.
        env_default = _env(_env_name(flag), str(default))
        serve.add_argument(flag, type=kind, default=env_default, help=help_text)


def _yes_no(value: str) -> bool:
    answer = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
    if value.strip().lower() not in answer:
        raise argparse.ArgumentTypeError(f"must be yes or no, got {value!r}")
    return answer[value.strip().lower()]


def _yes_no_auto(value: str) -> bool | None:
    if value.strip().lower() == "auto":
        return None
    try:
        return _yes_no(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be yes, no or auto, got {value!r}") from None


def _env_name(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_").upper()


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {value!r}")
    return seconds


def _whole_seconds(value: str) -> int:
    return _whole(value, 1, None, "a whole number of seconds above 0")


def _port(value: str) -> int:
    return _whole(value, 0, 65535, "a port number from 0 to 65535")


def _count(value: str) -> int:
    return _whole(value, 0, None, "a whole number, 0 or more")


def _whole(value: str, low: int, high: int | None, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low or (high is not None and number > high):
        raise argparse.ArgumentTypeError(f"must be {what}, got {value!r}")
    return number


def _path_env(name: str) -> Path | None:
    value = _env(name)
    return Path(value) if value else None


def _announced(value: str) -> tuple[str, ...]:
    if not value.strip():
        return ()
    addresses = []
    for item in value.split(","):
        try:
            address = ipaddress.IPv4Address(item.strip())
        except ValueError:
            raise LiveLensError(
                f"--media-announce-ip takes IPv4 addresses, comma-separated (got {item!r})."
            ) from None
        if address.is_unspecified or address.is_multicast:
            raise LiveLensError(f"--media-announce-ip cannot be {address}.")
        addresses.append(str(address))
    return tuple(dict.fromkeys(addresses))


def settings_from(args: argparse.Namespace) -> Settings:
    data_dir: Path = args.data_dir.expanduser().resolve()
    if bool(getattr(args, "tls_cert", None)) != bool(getattr(args, "tls_key", None)):
        raise LiveLensError("--tls-cert and --tls-key must be given together.")
    announced = _announced(getattr(args, "media_announce_ip", ""))
    return Settings(
        data_dir=data_dir,
        store_url=store_url_for(data_dir, args.store),
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", DEFAULT_PORT),
        region=getattr(args, "region", "eu"),
        public_url=getattr(args, "public_url", None),
        allowed_hosts=tuple(
            n.strip() for n in getattr(args, "allowed_hosts", "").split(",") if n.strip()
        ),
        tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None),
        auth_session_ttl=getattr(args, "session_ttl", DEFAULT_SESSION_TTL),
        rejoin_grace=getattr(args, "rejoin_grace", Settings.rejoin_grace),
        master_key=_env("MASTER_KEY"),
        media_port=getattr(args, "media_port", DEFAULT_MEDIA_PORT),
        media_announce=announced,
        media_on_web_port=getattr(args, "media_on_web_port", None),
        header_timeout=getattr(args, "header_timeout", DEFAULT_HEADER_TIMEOUT),
        idle_timeout=getattr(args, "idle_timeout", DEFAULT_IDLE_TIMEOUT),
        body_timeout=getattr(args, "body_timeout", DEFAULT_BODY_TIMEOUT),
        max_connections=getattr(args, "max_connections", 0),
        max_connections_per_client=getattr(args, "max_connections_per_client", DEFAULT_PER_CLIENT),
        alert_webhook=getattr(args, "alert_webhook", "") or None,
        alert_webhook_secret=_env("ALERT_WEBHOOK_SECRET") or None,
        syslog=getattr(args, "syslog", "") or None,
        alert_hooks_private=getattr(args, "alert_hooks_private", False),
    )


_secret = operator_cli.read_secret


async def _run(settings: Settings, action: Callable[[Context], Awaitable[str]]) -> str:
    ctx = await open_context(settings)
    try:
        return await action(ctx)
    finally:
        await ctx.store.close()


def _create_tenant(args: argparse.Namespace) -> Callable[[Context], Awaitable[str]]:
    password = _secret(args.admin_password, "Administrator password: ")

    async def action(ctx: Context) -> str:
        tenant, admin = await accounts.create_tenant(
            ctx, args.name, args.region, args.admin_email, password, CLI
        )
        return (
            f"Created account {tenant.name!r} ({tenant.region}) with administrator {admin.email}."
        )

    return action


def _create_user(args: argparse.Namespace) -> Callable[[Context], Awaitable[str]]:
    password = _secret(args.password, "Password: ")

    async def action(ctx: Context) -> str:
        tenant = await accounts.find_tenant(ctx, args.tenant)
        user = await accounts.create_user(
            ctx, tenant.id, args.email, args.role, password, CLI, args.display_name
        )
        return f"Created {user.role} {user.email} ({user.display_name}) in account {tenant.name!r}."

    return action


def _keys(args: argparse.Namespace) -> Callable[[Context], Awaitable[str]]:
    async def action(ctx: Context) -> str:
        use = keys.rotate if args.action == "rotate" else keys.reseal
        done = await use(ctx, CLI)
        lines = [
            f"Resealed {done.accounts} account(s) and the derivation key with master key "
            f"{done.master_key_id}. Restart LiveLens so that it seals new accounts with it."
        ]
        if done.unused:
            lines.append(
                f"Nothing is sealed with {', '.join(done.unused)} any more. Once every node "
                "runs with the new keyring, run `livelens keys reseal` again (for accounts "
                "made meanwhile), then remove them."
            )
        return "\n".join(lines)

    return action


def _security_log(args: argparse.Namespace) -> Callable[[Context], Awaitable[str]]:
    if not 1 <= args.limit <= 1000:
        raise LiveLensError(f"--limit must be between 1 and 1000 (got {args.limit}).")

    async def action(ctx: Context) -> str:
        events = await ctx.store.list_instance_security_events(args.limit)
        if not events:
            return "No instance-level security events."
        # JSON for the details: they may carry what a client sent (an Origin header),
        # which must not reach the operator's terminal as control characters.
        return "\n".join(
            f"{datetime.fromtimestamp(e.at, UTC).isoformat(timespec='seconds')}  {e.kind}  "
            f"{e.ip or '-'}  {json.dumps(e.details, sort_keys=True)}"
            for e in events
        )

    return action


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "verify-certificate":  # offline: no store, no keys
        return certificate_cli.run(args)
    try:
        settings = settings_from(args)
        if args.command == "serve":
            asyncio.run(serve(settings))
            return 0
        actions = {"tenant": _create_tenant, "user": _create_user, "keys": _keys,
                   "security-log": _security_log}  # fmt: skip
        action = operator_cli.action_for(args) or actions[args.command](args)
        print(asyncio.run(_run(settings, action)))
        return 0
    except LiveLensError as exc:
        print(f"livelens: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"livelens: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except EOFError:  # Ctrl-D at a password prompt, or an empty standard input
        print("livelens: no password given (end of input).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
