"""The gold key: what makes surrogate keys impossible to turn back into source ids.

Gold's surrogate keys are HMAC-SHA256 of the natural key (``'athena|17'``) with a secret of this
warehouse. Without the secret, nobody can recompute a key from a candidate source id (an
unsalted md5 can be reversed with one ``generate_series`` join). The secret comes from
``CAREHOUSE_GOLD_KEY`` or is generated on first use into ``$CAREHOUSE_HOME/secrets/gold_key``
(mode 0600); it never reaches gold, logs, compiled SQL or the repository.

dbt computes the HMAC in SQL (``macros/keys/keyed_hash.sql``) from two session settings that
carry the key's inner and outer pads (RFC 2104), handed to every dbt connection through
libpq's ``PGOPTIONS``: the statements dbt writes to its logs and target folder only ever name
the settings. :func:`keyed_hash` is the Python reference the SQL must agree with.

A warehouse remembers a fingerprint of its key, so pointing a second machine (with another
home, hence another generated key) at the same warehouse stops with a clear message instead of
silently giving every patient a second key.
"""

from __future__ import annotations

import hashlib
import hmac

import psycopg
from psycopg import sql

from warehouse.secret_files import read_or_create_secret
from warehouse.settings import ENV_GOLD_KEY, Settings

KEY_FILE = "gold_key"
PAD_SETTINGS = {"ipad": "carehouse.gold_key_ipad", "opad": "carehouse.gold_key_opad"}
FINGERPRINT_SCHEMA = "bronze"
FINGERPRINT_TABLE = "carehouse__gold_key"
_BLOCK = 64  # SHA-256 block size in bytes
_FINGERPRINT_MESSAGE = "carehouse gold key fingerprint"


class GoldKeyMismatchError(RuntimeError):
    """The warehouse's keys were made with another secret than the one configured here."""


def gold_key(settings: Settings) -> bytes:
    """The secret, from ``CAREHOUSE_GOLD_KEY`` or the key file (generated on first use)."""
    secret = settings.configured_gold_key or read_or_create_secret(settings.secrets_dir / KEY_FILE)
    return secret.encode("utf-8")


def keyed_hash(key: bytes, message: str) -> str:
    """HMAC-SHA256 of ``message`` (UTF-8) as lowercase hex: what the SQL macro computes."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> dict[str, str]:
    """The inner and outer pads of RFC 2104 as hex: HMAC(k, m) = H(opad || H(ipad || m))."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return {
        "ipad": bytes(b ^ 0x36 for b in key).hex(),
        "opad": bytes(b ^ 0x5C for b in key).hex(),
    }


def pgoptions(key: bytes) -> str:
    """A libpq ``PGOPTIONS`` value that puts the pads into every session it opens."""
    return " ".join(f"-c {PAD_SETTINGS[name]}={pad}" for name, pad in hmac_pads(key).items())


def fingerprint(key: bytes) -> str:
    return keyed_hash(key, _FINGERPRINT_MESSAGE)


def ensure_key_matches_warehouse(conn: psycopg.Connection, settings: Settings) -> None:
    """Record the key's fingerprint in a new warehouse; refuse a key the warehouse does not know."""
    table = sql.Identifier(FINGERPRINT_SCHEMA, FINGERPRINT_TABLE)
    conn.execute(
        sql.SQL(
            "create table if not exists {} (fingerprint text not null, created_at timestamptz not null"
            " default now(), singleton boolean primary key default true check (singleton))"
        ).format(table)
    )
    mine = fingerprint(gold_key(settings))
    conn.execute(
        sql.SQL("insert into {} (fingerprint) values (%s) on conflict do nothing").format(table), (mine,)
    )
    stored = conn.execute(sql.SQL("select fingerprint from {}").format(table)).fetchone()
    if stored and stored[0] != mine:
        raise GoldKeyMismatchError(
            f"this warehouse's gold keys were made with another secret: set {ENV_GOLD_KEY} (or copy "
            f"secrets/{KEY_FILE} from the carehouse home that built it) into {settings.secrets_dir}"
        )
