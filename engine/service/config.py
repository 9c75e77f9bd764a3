"""How ``triage serve`` runs: the options, checked, and passed to worker processes.

``ServiceConfig`` holds every option.  ``check()`` refuses what must not run (a non-loopback
address without a token, an empty token file) with a ``ServeUsageError``, which the command line
turns into a usage error (exit 2).  With ``--workers N`` uvicorn starts each worker from an import
string, so the options travel to the workers as one environment variable (``to_env`` /
``from_env``); the token travels as its file's path, never as the token itself.
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import asdict, dataclass

from ..core.errors import TriageError

ENV = "TRIAGE_SERVE_CONFIG"
# prometheus_client's own variable: set for --workers N, the workers' metrics live in files there
SHARED_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_MAX_BODY = 10 * 1024 * 1024
EXTRA_HINT = "pip install -e '.[serve]'"


class ServeUsageError(TriageError):
    """The service cannot start as asked (an option, a missing extra); a usage error, exit 2."""


@dataclass(frozen=True)
class ServiceConfig:
    policies: str = "policies"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    token_file: str | None = None
    decision_log: str | None = None
    log_facts: bool = False
    insecure: bool = False
    max_body: int = DEFAULT_MAX_BODY
    reload_interval: float = 1.0   # seconds between two looks at the policy directory
    log_queue: int = 10_000        # decision-log lines waiting for the writer; more are dropped and counted

    def check(self) -> "ServiceConfig":
        """This config, if it may run; ``ServeUsageError`` saying what to change otherwise."""
        if not os.path.isdir(self.policies):
            raise ServeUsageError(f"policy directory {self.policies} does not exist or is not a directory")
        if self.workers < 1:
            raise ServeUsageError("--workers must be at least 1")
        if self.max_body < 1:
            raise ServeUsageError("--max-body must be at least 1 byte")
        if self.decision_log is not None:
            try:
                open(self.decision_log, "ab").close()
            except OSError as exc:
                raise ServeUsageError(f"cannot write --decision-log {self.decision_log}: {exc.strerror}") from None
        if self.token_file is not None:
            read_token(self.token_file)
        elif not self.insecure and not is_loopback(self.host):
            raise ServeUsageError(f"refusing to listen on {self.host} (not a loopback address) without a token: "
                                  "give --token-file FILE, or --insecure to serve without authentication")
        return self

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, environ: "os._Environ[str] | dict[str, str] | None" = None) -> "ServiceConfig":
        text = (os.environ if environ is None else environ).get(ENV)
        if not text:
            raise ServeUsageError(f"{ENV} is not set: start the service with `triage serve`")
        return cls(**json.loads(text))


def read_token(path: str) -> bytes:
    """The bearer token in ``path`` (surrounding whitespace stripped); never echoed in a message."""
    try:
        with open(path, "rb") as handle:
            token = handle.read(4096).strip()
    except OSError as exc:
        raise ServeUsageError(f"cannot read --token-file {path}: {exc.strerror}") from None
    if not token:
        raise ServeUsageError(f"--token-file {path} is empty; put the token in it")
    if any(b < 0x21 or b > 0x7e for b in token):
        raise ServeUsageError(f"--token-file {path}: the token must be printable ASCII without spaces")
    return token


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to them (``localhost``)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
