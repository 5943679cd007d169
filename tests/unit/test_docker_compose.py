"""The container setup agrees with warehouse.settings, so `docker compose up` reaches its own Postgres.

Docker is not available where these tests run, so they read docker-compose.yml, the
Dockerfile and docker/*.yaml as text and check the facts that have to line up between them
and the Python code: environment variable names, the DSN, the Dagster home and the code
location.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from orchestration import alerts
from warehouse import settings as carehouse_settings
from warehouse.settings import ENV_DSN, ENV_HOME, ConnectionFacts, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DAGSTER_YAML = ROOT / "docker" / "dagster.yaml"
WORKSPACE_YAML = ROOT / "docker" / "workspace.yaml"
README = ROOT / "README.md"

DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")
CODE_LOCATION_MODULE = "orchestration.definitions"
POSTGRES_PORT_VARIABLE = "CAREHOUSE_POSTGRES_PORT"
# compose's interpolation forms that this file may use: ${VAR} and ${VAR:-default}
COMPOSE_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (compose accepts a mapping or a list of KEY=VALUE)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with ``${VAR}`` and ``${VAR:-default}`` replaced as docker compose does (an unset
    or empty variable takes the default), recursively through mappings and lists."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value
    return COMPOSE_VARIABLE.sub(lambda m: env.get(m["name"]) or (m["default"] or ""), value)


def command_args(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "service has no command"
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def option_value(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
    return None


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    """(host ip, host port, container port) for each published port, short or long syntax."""
    result: list[tuple[str | None, str, str]] = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            result.append((port.get("host_ip"), str(port.get("published", "")), str(port["target"])))
            continue
        spec = str(port).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            result.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            result.append((None, parts[0], parts[1]))
        else:
            result.append((None, "", parts[0]))
    return result


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    pairs = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        pairs.append((instruction.upper(), rest.strip()))
    return pairs


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in dockerfile_instructions():
        if instruction != "ENV":
            continue
        for token in shlex.split(rest):
            assert "=" in token, f"use ENV KEY=VALUE, not the legacy form: {rest!r}"
            key, value = token.split("=", 1)
            env[key] = value
    return env


def dockerfile_copies() -> dict[str, str]:
    """Destination -> source for single-source COPY instructions (flags like --chown dropped)."""
    copies: dict[str, str] = {}
    for instruction, rest in dockerfile_instructions():
        if instruction != "COPY":
            continue
        args = [arg for arg in shlex.split(rest) if not arg.startswith("--")]
        if len(args) == 2:
            copies[args[1]] = args[0]
    return copies


def code_location_modules(args: list[str]) -> list[str]:
    """Modules a dagster-webserver / dagster-daemon command line loads, via -m or a workspace file."""
    modules = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-m", "--module-name")]
    workspace_path = option_value(args, "-w", "--workspace")
    if workspace_path:
        source = dockerfile_copies().get(workspace_path)
        assert source, f"the Dockerfile does not COPY a workspace file to {workspace_path}"
        workspace = yaml.safe_load((ROOT / source).read_text())
        for entry in workspace["load_from"]:
            if "python_module" in entry:
                module = entry["python_module"]
                modules.append(module if isinstance(module, str) else module["module_name"])
    return modules


# ----------------------------------------------------------------------------- services


def test_the_three_services_exist(services: dict[str, Any]) -> None:
    assert {"postgres", *DAGSTER_SERVICES} <= set(services)


def test_postgres_is_major_version_16(services: dict[str, Any]) -> None:
    image = services["postgres"]["image"]
    name, _, tag = image.partition(":")
    assert name in ("postgres", "docker.io/library/postgres", "library/postgres")
    match = re.match(r"(\d+)", tag)
    assert match, f"pin the Postgres major version, got {image!r}"
    assert int(match.group(1)) == 16


def test_postgres_has_a_pg_isready_healthcheck_and_a_named_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    named = [str(v).split(":", 1)[0] for v in postgres["volumes"] if not str(v).startswith((".", "/"))]
    assert named and all(name in (compose.get("volumes") or {}) for name in named)


def test_dagster_services_wait_for_a_healthy_postgres(services: dict[str, Any]) -> None:
    for name in DAGSTER_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name


def test_webserver_publishes_port_3000(services: dict[str, Any]) -> None:
    ports = published_ports(services["dagster-webserver"])
    assert any(host == "3000" and container == "3000" for _, host, container in ports)
    args = command_args(services["dagster-webserver"])
    assert args[0] == "dagster-webserver"
    assert option_value(args, "-p", "--port") == "3000"
    assert option_value(args, "-h", "--host") == "0.0.0.0"


def test_daemon_runs_the_dagster_daemon(services: dict[str, Any]) -> None:
    assert command_args(services["dagster-daemon"])[:2] == ["dagster-daemon", "run"]


def test_postgres_host_port_is_5432_unless_carehouse_postgres_port_says_otherwise(
    services: dict[str, Any],
) -> None:
    postgres = services["postgres"]
    assert published_ports(interpolate(postgres, {})) == [("127.0.0.1", "5432", "5432")]
    moved = interpolate(postgres, {POSTGRES_PORT_VARIABLE: "6543"})
    assert published_ports(moved) == [("127.0.0.1", "6543", "5432")]
    # inside the compose network the Dagster services still reach the container port
    for name in DAGSTER_SERVICES:
        dsn = interpolate(environment(services[name]), {POSTGRES_PORT_VARIABLE: "6543"})[ENV_DSN]
        assert ConnectionFacts.from_dsn(dsn).port == 5432, name


def test_every_compose_variable_uses_a_known_form_and_is_documented() -> None:
    text = COMPOSE_FILE.read_text()
    uses = re.findall(r"\$\{[^}]*\}", text)
    assert uses, "expected ${...} interpolation in docker-compose.yml"
    readme = README.read_text()
    for use in uses:
        match = COMPOSE_VARIABLE.fullmatch(use)
        assert match, f"{use}: use ${{VAR}} or ${{VAR:-default}}"
        assert match["name"] in readme, f"README does not document {match['name']}"


def test_every_published_port_is_bound_to_localhost(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for host_ip, _, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes a port on all interfaces"


# ----------------------------------------------------------------------------- settings


def test_dsn_points_at_the_postgres_service_with_its_credentials(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    pg_env = environment(postgres)
    container_ports = {container for _, _, container in published_ports(postgres)} or {"5432"}
    for name in DAGSTER_SERVICES:
        facts = ConnectionFacts.from_dsn(environment(services[name])[ENV_DSN])
        assert facts.host == "postgres", name
        assert str(facts.port) in container_ports, name
        assert facts.user == pg_env["POSTGRES_USER"], name
        assert facts.password == pg_env["POSTGRES_PASSWORD"], name
        assert facts.dbname == pg_env.get("POSTGRES_DB", pg_env["POSTGRES_USER"]), name


def test_env_var_names_are_the_ones_settings_reads(services: dict[str, Any]) -> None:
    known = {
        value
        for module in (carehouse_settings, alerts)
        for key, value in vars(module).items()
        if key.startswith("ENV_") and isinstance(value, str)
    }
    for name in DAGSTER_SERVICES:
        env = environment(services[name])
        assert {ENV_DSN, ENV_HOME} <= set(env), name
        unknown = {key for key in env if key.startswith("CAREHOUSE_")} - known
        assert not unknown, f"{name} sets variables carehouse never reads: {unknown}"


def test_the_daemon_gets_the_alert_settings_from_the_shell(services: dict[str, Any]) -> None:
    env = environment(services["dagster-daemon"])
    for name in (alerts.ENV_ALERT_WEBHOOK, alerts.ENV_ALERT_SMTP):
        assert env.get(name) == f"${{{name}:-}}", name  # passed through; unset means no alerts


def test_dagster_home_is_the_carehouse_home_dagster_folder(services: dict[str, Any]) -> None:
    # Settings.dagster_home is where the app looks; it is a fixed sub-folder of the home.
    settings = Settings.from_env({ENV_HOME: "/var/lib/carehouse"})
    dagster_subdir = settings.dagster_home.relative_to(settings.home).as_posix()
    for name in DAGSTER_SERVICES:
        env = environment(services[name])
        assert env["DAGSTER_HOME"] == str(PurePosixPath(env[ENV_HOME]) / dagster_subdir), name


def test_dockerfile_homes_agree_with_compose_and_settings(services: dict[str, Any]) -> None:
    image_env = dockerfile_env()
    assert image_env["DAGSTER_HOME"] == str(PurePosixPath(image_env[ENV_HOME]) / "dagster")
    for name in DAGSTER_SERVICES:
        env = environment(services[name])
        assert env[ENV_HOME] == image_env[ENV_HOME], name
        assert env["DAGSTER_HOME"] == image_env["DAGSTER_HOME"], name


def test_carehouse_home_is_one_volume_shared_by_the_dagster_services(compose: dict[str, Any]) -> None:
    mounts = []
    for name in DAGSTER_SERVICES:
        service = compose["services"][name]
        home = environment(service)[ENV_HOME]
        sources = [str(v).split(":")[0] for v in service["volumes"] if str(v).split(":")[1] == home]
        assert len(sources) == 1, f"{name} does not mount a volume at {home}"
        mounts.append(sources[0])
    assert len(set(mounts)) == 1
    assert mounts[0] in (compose.get("volumes") or {})


# ----------------------------------------------------------------------------- image and Dagster


def test_dockerfile_builds_a_non_root_python_311_image_on_port_3000() -> None:
    instructions = dockerfile_instructions()
    assert ("FROM", "python:3.11-slim") in instructions
    pip_install_project = re.compile(r"pip install (--\S+ )*\.(\s|$)")
    assert any(kind == "RUN" and pip_install_project.search(rest) for kind, rest in instructions)
    assert "3000" in [rest for kind, rest in instructions if kind == "EXPOSE"]
    users = [rest for kind, rest in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")


def test_image_puts_dagster_yaml_in_dagster_home() -> None:
    dagster_home = dockerfile_env()["DAGSTER_HOME"]
    assert dockerfile_copies().get(f"{dagster_home}/dagster.yaml") == "docker/dagster.yaml"


def test_code_location_is_orchestration_definitions(services: dict[str, Any]) -> None:
    for name in DAGSTER_SERVICES:
        assert code_location_modules(command_args(services[name])) == [CODE_LOCATION_MODULE], name
    workspace = yaml.safe_load(WORKSPACE_YAML.read_text())
    assert workspace["load_from"][0]["python_module"]["attribute"] == "defs"


def test_dagster_storage_needs_no_package_carehouse_lacks() -> None:
    instance_config = yaml.safe_load(DAGSTER_YAML.read_text())
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    if "postgres" in (instance_config.get("storage") or {}):
        assert any(dep.startswith("dagster-postgres") for dep in dependencies)


def test_dagster_yaml_is_a_valid_instance_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dagster = pytest.importorskip("dagster")
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dagster.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert Path(instance.storage_directory()).is_relative_to(tmp_path)
