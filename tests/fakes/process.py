"""Running the real entry point (``python -m bot``) as a subprocess for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Shaped like a real token, so the log redaction is exercised too; never valid anywhere.
E2E_TOKEN = "7000000001:AAH-e2e_test_token_not_real_0123456789"
_INHERITED_PREFIXES = ("TELEGRAM_", "WEBHOOK_", "CPPCC_", "DATABASE_URL", "CHROMA_", "LLM_", "EMBEDDER",
                       "EMBEDDINGS_", "STAFF_CHAT", "BOT_USERNAME", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: nothing inherited that could point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_INHERITED_PREFIXES)}
    env.update(PYTHONUNBUFFERED="1", EMBEDDER="hash", STARTER_KB="false", NO_PROXY="127.0.0.1,localhost",
               PYTHONIOENCODING="utf-8", QUIET_HOURS_DEFAULT="00:00-00:00")  # tests must not depend on the hour
    env.update(extra)
    return env


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None,
                  time_limit: float = 60.0) -> tuple[int, str, str]:
    """Run ``python -m bot --data-dir DIR ARGS...`` to completion: (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env or cli_env(),
        cwd=data_dir.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(), time_limit)
    return int(proc.returncode or 0), out.decode(), err.decode()


@dataclass
class BotProcess:
    """A long-running ``python -m bot ... run|webhook`` with its output captured to files."""

    proc: asyncio.subprocess.Process
    stdout_path: Path
    stderr_path: Path
    _files: tuple[IO[bytes], IO[bytes]]

    @classmethod
    async def start(cls, data_dir: Path, *command: str, env: dict[str, str]) -> BotProcess:
        logs = data_dir.parent
        out_path, err_path = logs / f"{command[0]}.stdout.log", logs / f"{command[0]}.stderr.log"
        out, err = out_path.open("wb"), err_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--data-dir", str(data_dir), *command,
            stdout=out, stderr=err, env=env, cwd=logs,
        )
        return cls(proc, out_path, err_path, (out, err))

    async def stop(self, grace: float = 15.0) -> int:
        """SIGTERM, then wait (event-driven) up to ``grace`` seconds; kills and fails if it hangs."""
        try:
            if self.proc.returncode is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError(f"bot did not stop within {grace}s of SIGTERM:\n{self.output()}") from None
            return int(self.proc.returncode or 0)
        finally:
            for f in self._files:
                f.close()

    def output(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                         for p in (self.stdout_path, self.stderr_path) if p.exists())
