"""``triage serve``: the decision service (HTTP, Starlette on uvicorn), in small modules.

``config`` the options; ``command`` checks them and runs uvicorn; ``app`` the app factory;
``routes`` the endpoints; ``decide`` the answers (the CLI's records); ``body`` the size-limited
body reader; ``auth`` the bearer token; ``reload`` the policy holder and its watcher;
``decisionlog`` the decision log; ``metrics`` Prometheus; ``openapi`` the OpenAPI document;
``page`` the agent page's routes.

Importing this package imports neither Starlette nor uvicorn (they come with the ``serve`` extra):
only ``run`` does, and it says how to install them when they are missing.
"""
from .command import run
from .config import ServeUsageError, ServiceConfig

__all__ = ["run", "ServiceConfig", "ServeUsageError"]
