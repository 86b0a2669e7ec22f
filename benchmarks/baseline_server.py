"""The load generator's baseline: ``livelens serve`` on the aiortc media path with the
Python reference relay (aioice's sockets, aiortc's SRTP, every packet through Python).

Not a server option: ``livelens serve`` runs the Rust media port only. This runs the same
server (``livelens.server.serve``) with the other media path, from the same arguments:
``python -m benchmarks.baseline_server serve --data-dir DIR [livelens serve options]``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from livelens.cli import build_parser, settings_from
from livelens.config import Settings
from livelens.media.aiortc_path import AiortcPath
from livelens.server import media_addresses, serve


def aiortc_reference(settings: Settings) -> AiortcPath:
    return AiortcPath(host_addresses=media_addresses(settings), relay="reference")


def main() -> None:
    args = build_parser().parse_args(sys.argv[1:])
    if args.command != "serve":
        raise SystemExit("usage: python -m benchmarks.baseline_server serve [options]")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(settings_from(args), media=aiortc_reference))


if __name__ == "__main__":
    main()
