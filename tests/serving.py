"""A real ``triage serve`` process for the service tests: started on a free loopback port (the
server binds port 0 and says which port on stderr), ready once ``/readyz`` answers, and always
stopped (SIGTERM, then SIGKILL) when the test ends."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

TRIAGE = Path(sys.executable).with_name("triage")
_LISTENING = re.compile(r"listening on http://([^ ]+):(\d+) ")


class Server:
    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None) -> None:
        self.stderr_path = tmp_path / f"serve-{time.monotonic_ns()}.err"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([str(TRIAGE), "serve", "--port", "0", *map(str, args)],
                                     stdout=subprocess.DEVNULL, stderr=self._stderr,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        self.url = self._wait_listening()
        self.wait_ready()

    def _wait_listening(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.stderr)
            if match:
                return f"http://{match.group(1)}:{match.group(2)}"
            if self.proc.poll() is not None:
                raise AssertionError(f"triage serve exited {self.proc.returncode}: {self.stderr}")
            time.sleep(0.05)
        raise AssertionError(f"triage serve did not start: {self.stderr}")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"triage serve is not ready: {self.stderr}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the server and any worker it left behind (its own process group)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers still alive: none, normally
        except (ProcessLookupError, PermissionError):
            pass
        self._stderr.close()


def wait_for(condition, timeout: float = 30, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")
