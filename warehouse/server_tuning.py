"""Server settings for the embedded Postgres, sized for warehouse work from the machine's memory.

Postgres's defaults suit a small shared server: 128 MB of shared buffers, 4 MB per sort or hash
(analyst sorts and dbt's joins spill to disk) and a checkpoint every 1 GB of WAL (a full build
writes several). carehouse passes these as ``-c`` options when it starts the embedded server, so
they apply on every start and follow the machine; nothing is written into pgdata. An external
server (``CAREHOUSE_DSN``) is never reconfigured: its administrator sets it up (the README's
"Using another Postgres" lists what we recommend).

``wal_level=minimal`` (with ``max_wal_senders=0``, which it requires) is safe here: the embedded
server has no replicas, no WAL archive and no point-in-time recovery to feed (a warehouse is
rebuilt from bronze and the landing zone, and backed up with ``pg_dump``), and crash safety does
not depend on it: a table created and filled in one transaction (every dbt table build) is
synced to disk at commit instead of going through the WAL, everything else is logged as before.
"""

from __future__ import annotations

from pathlib import Path

MB = 1024 * 1024
# cgroup memory limits (v2, then v1): a container may see the host's memory but own less.
_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def machine_memory_bytes() -> int:
    """The memory this machine (or container) has: the smaller of RAM and any cgroup limit."""
    import psutil

    memory = int(psutil.virtual_memory().total)
    for limit in _CGROUP_LIMITS:
        try:
            text = limit.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            memory = min(memory, int(text))
    return memory


def _share(memory: int, divisor: int, low_mb: int, high_mb: int) -> str:
    """``memory / divisor``, kept between ``low_mb`` and ``high_mb``, in whole MB."""
    return f"{max(low_mb, min(high_mb, memory // divisor // MB))}MB"


def embedded_server_settings(memory: int | None = None) -> dict[str, str]:
    """Settings for the embedded server on a machine with ``memory`` bytes (default: this one).

    The server shares the machine with the simulators, dlt and up to 4 dbt threads (each may run
    several sorts or hashes at once), so it takes an eighth of the memory for buffers and bounded
    shares for sorts and index builds; e.g. 16 GB: 2 GB buffers, 64 MB per sort, 256 MB per
    index build.
    """
    memory = machine_memory_bytes() if memory is None else memory
    return {
        "shared_buffers": _share(memory, 8, 128, 2048),
        # what the planner may assume the OS caches (no allocation)
        "effective_cache_size": _share(memory, 2, 512, 16384),
        "work_mem": _share(memory, 256, 16, 128),
        "maintenance_work_mem": _share(memory, 64, 64, 512),
        # fewer, spread checkpoints during a build; WAL files are recycled, pg_wal stays below this
        "max_wal_size": "2GB",
        "min_wal_size": "256MB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        # no replicas, no archive: table builds skip the WAL (see the module docstring)
        "wal_level": "minimal",
        "max_wal_senders": "0",
        # pgdata is on the local disk (SSD on any machine of the last decade)
        "random_page_cost": "1.1",
    }


def server_options(settings: dict[str, str]) -> str:
    """``settings`` as postgres command-line options (``-c name=value`` each)."""
    return " ".join(f"-c {name}={value}" for name, value in settings.items())
