"""Run the real app under uvicorn in a child process, against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(database_url: str, secret_key: str, workers: int = 1) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "CAREPLANS_ENV": "test",
        "CAREPLANS_DATABASE_URL": database_url,
        "CAREPLANS_SECRET_KEY": secret_key,
        "CAREPLANS_ARGON2_PROFILE": "cheapest",
        "PYTHONPATH": str(ROOT),
        "CAREPLANS_PORT": str(port),
    }
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        # stderr to a file, not a pipe: a pipe nobody reads blocks the server once it is full,
        # and reading it while the server runs never ends.
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a shared, busy machine can take a while
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.terminate()
                proc.wait(timeout=15)
                errors.seek(0)
                err = errors.read().decode(errors="replace")
                raise RuntimeError(f"server did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
        errors.close()


def stop(proc: subprocess.Popen) -> None:
    """Ask a server to stop; kill it if it has not within 15 s (bench.harness stops its servers so too)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
