"""The EHR registry (``ingestion/ehr_systems.yaml``): which EHR systems carehouse loads, and how.

EHR systems are configuration, not code: onboarding one is an entry in the YAML. Loaders read
the registry when they run (landing folders of unlisted systems are reported, not loaded), and
every EHR load writes it to ``bronze.ehr__systems`` so dbt's tests check ``ehr_system`` against
the same list. The file is found in this order: an explicit path, the ``CAREHOUSE_EHR_REGISTRY``
environment variable, the packaged file. Validation happens up front and a mistake is one line
naming the file and the entry, like the load config's (``ingestion.feeds.config``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

ENV_EHR_REGISTRY = "CAREHOUSE_EHR_REGISTRY"
DEFAULT_REGISTRY_PATH = Path(__file__).resolve().parent.parent / "ehr_systems.yaml"

Arrival = Literal["landing_files", "fhir_api", "bulk_export"]
ARRIVALS: tuple[str, ...] = ("landing_files", "fhir_api", "bulk_export")
# landing folders other loaders own: an EHR may not take their name
RESERVED_NAMES = frozenset({"adt"})

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTITY = re.compile(r"^[a-z]+$")
_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]*$")
_REQUIRED = ("name", "arrives", "description")
_OPTIONAL_TEXT = ("fhir_base_url", "token_url", "client_id", "group_id")
_OPTIONAL = (*_OPTIONAL_TEXT, "code_systems", "types")


class RegistryError(ValueError):
    """The registry is not usable; the message is one line naming the file and the entry."""


class UnknownEhrSystem(ValueError):
    """A system that the registry does not list (one line naming the registry file)."""


@dataclass(frozen=True)
class EhrSystem:
    """One EHR source (see the comments of ``ingestion/ehr_systems.yaml`` for each field)."""

    name: str
    arrives: Arrival
    description: str
    code_systems: dict[str, list[str]]
    fhir_base_url: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    group_id: str | None = None
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class EhrRegistry:
    systems: tuple[EhrSystem, ...]
    source: Path

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(system.name for system in self.systems)

    def get(self, name: str) -> EhrSystem:
        for system in self.systems:
            if system.name == name:
                return system
        known = ", ".join(self.names)
        raise UnknownEhrSystem(
            f"EHR system {name!r} is not in the EHR registry {self.source} (it lists {known}):"
            " add an entry for it"
        )

    def __contains__(self, name: object) -> bool:
        return name in self.names


def registry_path(path: Path | str | None = None) -> Path:
    if path:
        return Path(path)
    from_env = os.environ.get(ENV_EHR_REGISTRY)
    return Path(from_env) if from_env else DEFAULT_REGISTRY_PATH


def load_ehr_registry(path: Path | None = None) -> EhrRegistry:
    """Read and validate the registry (see the module docstring for where it is found)."""
    source = registry_path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(f"EHR registry {source}: cannot read it ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise RegistryError(f"EHR registry {source}: not valid YAML ({problem})") from exc
    return parse_registry(document, source)


def parse_registry(document: Any, source: Path) -> EhrRegistry:
    where = f"EHR registry {source}"
    if not isinstance(document, dict) or set(document) != {"systems"}:
        raise RegistryError(f"{where}: expected a mapping with the one key 'systems'")
    entries = document["systems"]
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{where}: 'systems' must be a non-empty list")
    systems = tuple(_parse_system(entry, f"{where}: systems[{i}]") for i, entry in enumerate(entries))
    seen: dict[str, int] = {}
    for index, system in enumerate(systems):
        if system.name in seen:
            first = seen[system.name]
            raise RegistryError(
                f"{where}: systems[{index}] ({system.name}): duplicate name, see systems[{first}]"
            )
        seen[system.name] = index
    return EhrRegistry(systems, source)


def _parse_system(entry: Any, where: str) -> EhrSystem:
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: expected a mapping, got {type(entry).__name__}")
    if isinstance(entry.get("name"), str):
        where = f"{where} ({entry['name']})"
    unknown = sorted(map(str, set(entry) - set(_REQUIRED) - set(_OPTIONAL)))
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise RegistryError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
    name = _text(entry, "name", where)
    if not _NAME.match(name) or name in RESERVED_NAMES:
        raise RegistryError(
            f"{where}: name {name!r} must be lower-case letters, digits and underscores, starting with a"
            f" letter, and not one of {', '.join(sorted(RESERVED_NAMES))}"
        )
    arrives = _text(entry, "arrives", where)
    if arrives not in ARRIVALS:
        raise RegistryError(f"{where}: arrives {arrives!r} must be one of {', '.join(ARRIVALS)}")
    optional = {
        key: _text(entry, key, where) if entry.get(key) is not None else None for key in _OPTIONAL_TEXT
    }
    return EhrSystem(
        name=name,
        arrives=cast(Arrival, arrives),
        description=" ".join(_text(entry, "description", where).split()),
        code_systems=_code_systems(entry.get("code_systems"), where),
        types=_types(entry.get("types"), where),
        **optional,
    )


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RegistryError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def _code_systems(value: Any, where: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RegistryError(f"{where}: code_systems must map resource types to lists of code system URIs")
    systems: dict[str, list[str]] = {}
    for entity, uris in value.items():
        if not isinstance(entity, str) or not _ENTITY.match(entity):
            raise RegistryError(f"{where}: code_systems key {entity!r} must be a lower-case resource type")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u.strip() for u in uris):
            raise RegistryError(f"{where}: code_systems.{entity} must be a non-empty list of URIs")
        systems[entity] = [uri.strip() for uri in uris]
    return systems


def _types(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) and _RESOURCE_TYPE.match(t) for t in value):
        raise RegistryError(f"{where}: types must be a list of FHIR resource types like Patient")
    return tuple(value)
