"""Settings from the environment, and the Python reference of the sampling rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from warehouse.keys import pgoptions
from warehouse.sampling import is_sampled, sample_bucket, sample_key
from warehouse.settings import ConnectionFacts, Settings, without_password


def test_defaults_need_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.home == tmp_path / ".carehouse"
    assert settings.uses_embedded_server
    assert settings.pgdata_dir == tmp_path / ".carehouse" / "pgdata"
    assert settings.dagster_home == tmp_path / ".carehouse" / "dagster"
    assert settings.landing_dir == tmp_path / ".carehouse" / "landing"


def test_external_dsn_feeds_dbt_and_sqlalchemy() -> None:
    settings = Settings.from_env(
        {
            "CAREHOUSE_DSN": "postgresql://ana%40lyst:s3cr%2Ft@db.internal:6543/warehouse",
            "CAREHOUSE_HOME": "/x",
            "CAREHOUSE_GOLD_KEY": "a key of this warehouse",
        }
    )
    assert not settings.uses_embedded_server
    assert "s3cr" not in repr(settings) and "a key of" not in repr(settings)
    env = settings.dbt_env()
    assert env == {
        "CAREHOUSE_PGHOST": "db.internal",
        "CAREHOUSE_PGPORT": "6543",
        "CAREHOUSE_PGUSER": "ana@lyst",
        "CAREHOUSE_PGPASSWORD": "s3cr/t",
        "CAREHOUSE_PGDATABASE": "warehouse",
        "PGOPTIONS": pgoptions(b"a key of this warehouse"),
    }
    assert settings.sqlalchemy_url() == "postgresql+psycopg2://ana%40lyst:s3cr%2Ft@db.internal:6543/warehouse"


def test_a_dsn_that_is_not_postgres_is_refused() -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        ConnectionFacts.from_dsn("mysql://root@localhost/db")


def test_sample_bucket_reads_the_whole_md5_as_one_integer() -> None:
    key = sample_key("athena", "17")
    assert key == "athena:17"
    assert sample_bucket(key) == int(hashlib.md5(b"athena:17").hexdigest(), 16) % 100
    # a key whose bucket differs when only the first 64 bits are read: guards against truncation
    keys = [sample_key("epic", str(n)) for n in range(200)]
    truncated = [int(hashlib.md5(k.encode()).hexdigest()[:16], 16) % 100 for k in keys]
    assert [sample_bucket(k) for k in keys] != truncated


def test_sampling_is_deterministic_and_near_the_rate() -> None:
    keys = [sample_key(system, str(n)) for system in ("athena", "epic") for n in range(5000)]
    first = [is_sampled(k) for k in keys]
    assert first == [is_sampled(k) for k in keys]
    share = sum(first) / len(keys)
    assert 0.08 < share < 0.12
    assert sum(is_sampled(k, 0) for k in keys) == 0
    assert all(is_sampled(k, 100) for k in keys)


def test_without_password_keeps_everything_else() -> None:
    assert without_password("postgresql://ana%40lyst:s3cr%2Ft@db:6543/wh?sslmode=require") == (
        "postgresql://ana%40lyst@db:6543/wh?sslmode=require"
    )
    assert without_password("postgresql://postgres@127.0.0.1:55432/carehouse") == (
        "postgresql://postgres@127.0.0.1:55432/carehouse"
    )


def test_the_default_home_is_pinned_where_carehouse_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dagster-dbt changes the working directory while it streams dbt's events: a step that
    reads the settings then must still find the warehouse where the run started."""
    from warehouse.settings import DEFAULT_HOME, ENV_HOME, get_settings

    monkeypatch.delenv(ENV_HOME, raising=False)
    monkeypatch.chdir(tmp_path)
    started_in = get_settings().home
    assert started_in == tmp_path.resolve() / DEFAULT_HOME
    (tmp_path / "dbt_project").mkdir()
    monkeypatch.chdir(tmp_path / "dbt_project")
    assert get_settings().home == started_in
