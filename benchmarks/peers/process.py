"""A peer server in a subprocess: started with its log in its temp dir, waited for until
its HTTP port answers, stopped politely."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import tornado.httpclient

from benchmarks.loadgen import ServerProcess


class PeerProcess(ServerProcess):
    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir

    def launch(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.workdir / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    async def wait_answering(self, url: str) -> None:
        """Until ``url`` answers at all (any HTTP status); raises if the process exits."""
        client = tornado.httpclient.AsyncHTTPClient()
        for _ in range(400):
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.workdir / f"{self.name}.log").read_text()[-2000:]
                raise RuntimeError(f"{self.name} exited: {log}")
            try:
                await client.fetch(url, request_timeout=1)
                return
            except tornado.httpclient.HTTPClientError as error:
                if error.code != 599:  # an HTTP answer, whatever its status
                    return
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.name} did not start")
