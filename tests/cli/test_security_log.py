"""``livelens security-log``: the instance operator's view of events no account owns."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from livelens.cli import build_parser, settings_from
from livelens.server import open_context
from livelens.services import security

PASSWORD = "correct-horse-42"


def livelens(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELENS_")}
    return subprocess.run(
        [sys.executable, "-m", "livelens", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def record_events(data_dir: Path) -> None:
    args = build_parser().parse_args(["security-log", "--data-dir", str(data_dir)])
    ctx = await open_context(settings_from(args))
    try:
        tenant_id = (await ctx.store.list_tenant_ids())[0]
        await security.record(ctx, "join.bad_pin", "203.0.113.9")
        await security.record(ctx, "join.other_device", "203.0.113.8", tenant_id, session="s1")
        await security.record(ctx, "signalling.bad_origin", "203.0.113.7", origin="\x1b[2Jx")
    finally:
        await ctx.store.close()


def test_security_log_lists_the_events_of_no_account(tmp_path: Path) -> None:
    created = livelens(
        tmp_path, "tenant", "create", "--name", "Acme", "--region", "eu",
        "--admin-email", "boss@acme.test", "--admin-password", PASSWORD,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert livelens(tmp_path, "security-log").stdout.strip() == "No instance-level security events."
    asyncio.run(record_events(tmp_path))

    done = livelens(tmp_path, "security-log", "--limit", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[1:3] for line in lines] == [
        ["signalling.bad_origin", "203.0.113.7"],
        ["join.bad_pin", "203.0.113.9"],
    ]  # newest first; the account's own event is for its administrators
    assert "\x1b" not in done.stdout  # what a client sent cannot drive the terminal
    assert lines[0].endswith('{"origin": "\\u001b[2Jx"}')
    assert len(livelens(tmp_path, "security-log", "--limit", "1").stdout.splitlines()) == 1

    bad = livelens(tmp_path, "security-log", "--limit", "0")
    assert bad.returncode == 1 and "--limit must be between 1 and 1000" in bad.stderr
