"""``triage serve``: check the options, load the policy set once, bind, and run uvicorn.

The socket is bound here (so ``--port 0`` picks a free port and the line on stderr says which) and
handed to uvicorn: one process serves it directly; with ``--workers N`` uvicorn's supervisor starts
N worker processes that share it, each building its app from ``TRIAGE_SERVE_CONFIG`` and watching
the policy directory on its own.  SIGTERM (or Ctrl-C) stops accepting, lets the requests in flight
finish, writes the decision log out, and returns, so the command exits 0.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import TextIO

from ..policyset import PolicySet
from .config import ENV, EXTRA_HINT, SHARED_METRICS_ENV, ServeUsageError, ServiceConfig

_NEEDED = ("starlette", "uvicorn", "prometheus_client", "anyio")
CANNOT_RUN = 2  # the exit code of a server that could not start (as for every triage command)


_UVICORN_STARTUP_FAILURE = 3  # a worker's exit code when its app did not start


def missing_extra() -> list[str]:
    """The packages of the ``serve`` extra that cannot be imported."""
    missing = []
    for name in _NEEDED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeUsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_options() -> dict:
    options = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 30,
               "server_header": False, "date_header": False, "lifespan": "on"}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options


def run(config: ServiceConfig, err: TextIO = sys.stderr) -> int:
    """Serve until SIGTERM or SIGINT; 0 after a clean shutdown, 2 if the server did not start.  ``ServeUsageError`` for options that
    cannot run (and a missing ``serve`` extra), ``PolicyError`` if the policy set does not load."""
    missing = missing_extra()
    if missing:
        raise ServeUsageError(f"triage serve needs the 'serve' extra ({', '.join(missing)} not installed): "
                              f"{EXTRA_HINT}")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .app import create_app

    config.check()
    policies = PolicySet.load(config.policies)  # PolicyError: the command cannot run
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    auth = "bearer token required on /v1/*" if config.token_file else "no authentication"
    err.write(f"triage serve: listening on http://{shown}:{port} ({config.workers} worker"
              f"{'s' if config.workers > 1 else ''}, {auth}); policy {policies.digest[:19]}… from {config.policies}\n")
    err.flush()
    # uvicorn re-raises the SIGTERM it handled once it has shut down; a handler of our own makes that
    # a no-op, so a graceful stop exits 0
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        if config.workers == 1:
            server = uvicorn.Server(uvicorn.Config(create_app(config, policies), **_uvicorn_options()))
            server.run(sockets=[sock])
            return 0 if server.started else CANNOT_RUN
        del policies  # each worker loads its own
        os.environ[ENV] = config.to_env()
        uv_config = uvicorn.Config("engine.service.app:create_app_from_env", factory=True, workers=config.workers,
                                   **_uvicorn_options())
        # the workers count together, in files of this run only (see engine.service.metrics)
        try:
            shared = tempfile.mkdtemp(prefix="triage-serve-metrics-")
        except OSError as exc:
            raise ServeUsageError(f"cannot make a directory for the workers' metrics in {tempfile.gettempdir()}: "
                                  f"{exc.strerror} (set TMPDIR to a writable directory)") from None
        before = os.environ.get(SHARED_METRICS_ENV)
        os.environ[SHARED_METRICS_ENV] = shared
        try:
            supervisor = Multiprocess(uv_config, sockets=[sock])
            supervisor.run()
        finally:
            shutil.rmtree(shared, ignore_errors=True)
            if before is None:
                del os.environ[SHARED_METRICS_ENV]
            else:
                os.environ[SHARED_METRICS_ENV] = before
        failed = any(p.exitcode == _UVICORN_STARTUP_FAILURE for p in supervisor.processes)
        return CANNOT_RUN if failed else 0
    finally:
        sock.close()
        err.write("triage serve: stopped\n")
        err.flush()
