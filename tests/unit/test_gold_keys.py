"""The gold key: HMAC-SHA256 of the natural key, kept in a private file (no database needed)."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.keys import KEY_FILE, PAD_SETTINGS, gold_key, hmac_pads, keyed_hash, pgoptions
from warehouse.secret_files import SecretFileError, read_or_create_secret
from warehouse.settings import Settings


def _settings(home: Path, **env: str) -> Settings:
    return Settings.from_env({"CAREHOUSE_HOME": str(home), "CAREHOUSE_DSN": "postgresql://u@h/db", **env})


def test_keyed_hash_is_hmac_sha256_of_the_natural_key() -> None:
    key = b"some warehouse secret"
    assert keyed_hash(key, "athena|17") == hmac.new(key, b"athena|17", hashlib.sha256).hexdigest()
    assert keyed_hash(key, "athena|17") != hashlib.md5(b"athena|17").hexdigest()
    assert keyed_hash(key, "athena|17") != keyed_hash(b"another secret", "athena|17")


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"y" * 200], ids=["short", "block", "long"])
def test_the_pads_rebuild_hmac_the_way_the_sql_macro_does(key: bytes) -> None:
    pads = hmac_pads(key)
    message = b"epic|1001"
    inner = hashlib.sha256(bytes.fromhex(pads["ipad"]) + message).digest()
    outer = hashlib.sha256(bytes.fromhex(pads["opad"]) + inner).hexdigest()
    assert outer == keyed_hash(key, "epic|1001")


def test_pgoptions_names_the_settings_and_never_the_key() -> None:
    options = pgoptions(b"the secret")
    assert "the secret" not in options and b"the secret".hex() not in options
    assert options.split() == [
        "-c",
        f"{PAD_SETTINGS['ipad']}={hmac_pads(b'the secret')['ipad']}",
        "-c",
        f"{PAD_SETTINGS['opad']}={hmac_pads(b'the secret')['opad']}",
    ]


def test_the_key_is_generated_once_into_a_private_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    key = gold_key(settings)
    path = settings.secrets_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.secrets_dir.stat().st_mode) == 0o700
    assert len(key) >= 32 and gold_key(settings) == key
    assert gold_key(_settings(tmp_path, CAREHOUSE_GOLD_KEY="from the environment")) == b"from the environment"


def test_processes_racing_to_create_the_key_agree_on_one(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / KEY_FILE
    code = (
        "from pathlib import Path; from warehouse.secret_files import read_or_create_secret;"
        f" print(read_or_create_secret(Path({str(path)!r})))"
    )
    run = [sys.executable, "-c", code]
    procs = [subprocess.Popen(run, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    seen = {p.communicate()[0].strip() for p in procs}
    assert seen == {read_or_create_secret(path)}
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temp files left behind


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / KEY_FILE
    read_or_create_secret(path)
    os.chmod(path, 0o644)
    with pytest.raises(SecretFileError, match="readable by other users"):
        read_or_create_secret(path)
