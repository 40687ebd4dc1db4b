"""A throw-away PostgreSQL server for the ``pg`` tests (Debian's packages; started per test session)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    """The directory holding initdb/pg_ctl (Debian puts them under /usr/lib/postgresql/N/bin)."""
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists()), reverse=True)
        if versions:
            return versions[0] / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin_dir: Path
    base: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls) -> PgServer:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        base = Path(tempfile.mkdtemp(prefix="cppcc-pg-"))
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        server = cls(bin_dir=bin_dir, base=base, port=_free_port())
        data = base / "data"
        server._run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8")
        opts = f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off " \
               "-c synchronous_commit=off -c full_page_writes=off"
        server._run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(base / "log"), "start")
        return server

    def create_database(self, name: str) -> str:
        self._run(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url_for(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
