"""What every benchmark shares: the machine, the database, scratch databases, percentiles."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable


def machine() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": mem,
        "python": platform.python_version(),
        # Which build: the distribution's or pyenv's runs the same code at different speeds.
        "python_executable": os.path.realpath(sys.executable),
        "platform": platform.platform(),
    }


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def on_postgres(url: str | None = None) -> bool:
    return (url if url is not None else database_url()).startswith(("postgres://", "postgresql://"))


def database_label(url: str | None = None) -> str:
    url = url if url is not None else database_url()
    if on_postgres(url):
        parts = urlsplit(url)
        return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"
    return "sqlite (embedded)"


def create_database(url: str) -> None:
    """Create the PostgreSQL database named in url if it does not exist (no-op for SQLite)."""
    if not on_postgres(url):
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def sibling_database(suffix: str) -> str:
    """A scratch PostgreSQL database next to DATABASE_URL's, created if missing; on SQLite a
    file under var/bench/."""
    url = database_url()
    if not on_postgres(url):
        VAR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{VAR / f'scratch-{suffix}.sqlite3'}"

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'yunshu'}_{suffix}"
    sibling = urlunsplit(parts._replace(path=f"/{name}"))
    create_database(sibling)
    return sibling


def run(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 3600
) -> tuple[float, str]:
    """Run a command, return (wall seconds, stdout); raise with its output if it fails."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.run(
        list(cmd), cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return seconds, proc.stdout


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(statistics.median(ms), 2) if ms else 0.0,
        "p95_ms": round(percentile(ms, 95), 2),
        "max_ms": round(max(ms), 2) if ms else 0.0,
        "samples": len(ms),
    }
