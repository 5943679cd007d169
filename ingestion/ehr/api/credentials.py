"""Where the EHR API's OAuth2 client credentials come from, for the server and the loader alike.

Resolution order, per value: an explicit argument; dlt's own config chain for
``sources.ehr_api.client_id`` / ``client_secret`` (``.dlt/secrets.toml``, or the env variables
``SOURCES__EHR_API__CLIENT_ID`` / ``..._SECRET``); carehouse's env variables
``CAREHOUSE_EHR_API_CLIENT_ID`` / ``CAREHOUSE_EHR_API_CLIENT_SECRET``; and last the development
defaults below, which only make sense for the simulated server on loopback. Server and loader
use the same chain, so with nothing configured they agree out of the box.

The secret is never part of a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

ENV_CLIENT_ID = "CAREHOUSE_EHR_API_CLIENT_ID"
ENV_CLIENT_SECRET = "CAREHOUSE_EHR_API_CLIENT_SECRET"
DLT_SECRETS_SECTION = "sources.ehr_api"
# Development defaults: the simulated server holds simulated data and listens on 127.0.0.1.
DEV_CLIENT_ID = "carehouse-dev"
DEV_CLIENT_SECRET = "carehouse-dev-secret"


@dataclass(frozen=True)
class ApiCredentials:
    """An OAuth2 client id and secret; ``repr`` hides the secret so it cannot leak into logs."""

    client_id: str
    client_secret: str = field(repr=False)
    from_dev_defaults: bool = False


def _from_dlt_secrets(name: str) -> str | None:
    import dlt

    value: object = dlt.secrets.get(f"{DLT_SECRETS_SECTION}.{name}")
    return str(value) if value else None


def _resolve(explicit: str | None, name: str, env_name: str, default: str) -> tuple[str, bool]:
    value = explicit or _from_dlt_secrets(name) or os.environ.get(env_name)
    return (value, False) if value else (default, True)


def resolve_api_credentials(client_id: str | None = None, client_secret: str | None = None) -> ApiCredentials:
    """Credentials from the first place that has them (see the module docstring for the order)."""
    resolved_id, dev_id = _resolve(client_id, "client_id", ENV_CLIENT_ID, DEV_CLIENT_ID)
    resolved_secret, dev_secret = _resolve(
        client_secret, "client_secret", ENV_CLIENT_SECRET, DEV_CLIENT_SECRET
    )
    if dev_id or dev_secret:
        log.warning("EHR API: using development default client credentials (simulated server only)")
    return ApiCredentials(resolved_id, resolved_secret, from_dev_defaults=dev_id and dev_secret)
