"""The services around the benchmark: PostgreSQL, Redis, the benchmark database, gunicorn
and its workers' memory."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """Something the benchmark needs is missing; the message says what to do."""


@dataclass(frozen=True)
class Services:
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    redis_url: str = "redis://127.0.0.1:6379"

    def database_url(self, name: str) -> str:
        return f"postgres://{self.pg_user}@{self.pg_host}:{self.pg_port}/{name}"


def check_services(services: Services) -> dict[str, str]:
    """PostgreSQL and Redis answer, or BenchError says which one does not."""
    versions = {}
    try:
        with psycopg.connect(
            host=services.pg_host,
            port=services.pg_port,
            user=services.pg_user,
            dbname="postgres",
            connect_timeout=5,
        ) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            versions["postgresql"] = str(row[0]) if row else "?"
    except psycopg.Error as error:
        raise BenchError(
            f"PostgreSQL does not answer at {services.pg_host}:{services.pg_port} as "
            f"{services.pg_user}: {error}".strip()
        ) from error
    import redis

    try:
        client = redis.Redis.from_url(services.redis_url, socket_connect_timeout=5)
        versions["redis"] = str(client.info("server").get("redis_version", "?"))
    except redis.RedisError as error:
        raise BenchError(f"Redis does not answer at {services.redis_url}: {error}") from error
    return versions


def ensure_database(services: Services, name: str) -> bool:
    """Create the database when missing; True when it was created."""
    with psycopg.connect(
        host=services.pg_host,
        port=services.pg_port,
        user=services.pg_user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def manage(
    env: Mapping[str, str], *args: str, timeout: float, stream: TextIO | None = None
) -> None:
    """Run a manage.py command, its output shown as it comes (bounded by `timeout`)."""
    run_streaming([sys.executable, "manage.py", *args], env, timeout=timeout, stream=stream)


def _start_group(
    command: list[str], env: Mapping[str, str], **streams: Any
) -> subprocess.Popen[Any]:
    """Start `command` in the project folder as a process group of its own, so that stopping
    it stops every process it started (see _kill_group)."""
    return subprocess.Popen(command, cwd=ROOT, env=dict(env), start_new_session=True, **streams)


def run_streaming(
    command: list[str], env: Mapping[str, str], *, timeout: float, stream: TextIO | None = None
) -> str:
    """Run a command in its own process group; echo its output; kill the group on timeout."""
    out = stream or sys.stdout
    process = _start_group(
        command, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def echo() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if not line.startswith("BENCH-RESULT "):
                out.write("    " + line)
                out.flush()

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    label = " ".join(command[1:3])
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{label} took longer than {timeout:.0f} s; stopped it") from None
    finally:
        if process.poll() is None:
            _kill_group(process)
        reader.join(timeout=5)
    if code != 0:
        raise BenchError(f"{label} failed with exit status {code}")
    return "".join(lines)


def _kill_group(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []


@contextmanager
def gunicorn(
    env: Mapping[str, str],
    *,
    port: int,
    workers: int,
    threads: int,
    log: Path,
    ready_timeout: float = 60.0,
) -> Iterator[Gunicorn]:
    """gunicorn serving the project on 127.0.0.1:`port`, stopped (its whole process group)
    when the block ends, however it ends."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "config/gunicorn.py",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        # The first suggestion request of a worker loads the organisation's vectors.
        "--timeout",
        "180",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    process = _start_group(command, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Gunicorn(process, port, log)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Gunicorn, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"gunicorn exited at start; see {server.log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            status = conn.getresponse().status
            conn.close()
            if status == 200 and len(server.worker_pids()) > 0:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {server.log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def memory_of(pid: int) -> dict[str, Any]:
    """Peak (VmHWM) and current (VmRSS) resident memory of a process, in MB."""
    values: dict[str, Any] = {"pid": pid}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values["hwm_mb" if key == "VmHWM" else "rss_mb"] = round(
                    int(rest.split()[0]) / 1024, 1
                )
    except OSError:
        pass
    return values


def proportional_mb(pid: int) -> float | None:
    """The process's proportional set size (PSS) in MB: its private pages plus its share of
    the pages it shares with other processes (a worker's share of the model the master
    loaded before forking). None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class PssSampler:
    """The peak PSS of each gunicorn worker, sampled every `interval` seconds in a thread
    while the block runs (the kernel keeps a peak for RSS, not for PSS)."""

    def __init__(self, server: Gunicorn, interval: float = 0.5) -> None:
        self.server, self.interval = server, interval
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            for pid in self.server.worker_pids():
                pss = proportional_mb(pid)
                if pss is not None:
                    self.peaks[pid] = max(pss, self.peaks.get(pid, 0.0))
            if self._stop.wait(self.interval):
                return


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CpuSample:
    busy: int  # jiffies all cores spent busy
    total: int  # jiffies of all cores
    ours: int  # jiffies of the benchmark's own processes

    def other_percent(self, later: CpuSample) -> float:
        """How busy the machine was with work other than the benchmark's own between the
        two samples, in percent of all cores: other work on the machine skews results."""
        total = later.total - self.total
        other = (later.busy - self.busy) - (later.ours - self.ours)
        return round(max(0.0, 100 * other / total), 1) if total > 0 else 0.0


def _jiffies(pid: str) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def cpu_sample(pids: set[int], database: str) -> CpuSample:
    """CPU time so far: the machine's and the benchmark's own (this process, gunicorn and
    the PostgreSQL backends serving the benchmark database)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])
    ours = 0
    marker = f" {database} "
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid not in pids:
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if not (cmdline.startswith("postgres: ") and marker in cmdline):
                continue
        ours += _jiffies(entry.name)
    return CpuSample(busy=total - idle, total=total, ours=ours)
