"""The EHR registry: the shipped file, one-line errors naming the file and the entry, the override."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingestion.ehr.registry import (
    DEFAULT_REGISTRY_PATH,
    ENV_EHR_REGISTRY,
    RegistryError,
    UnknownEhrSystem,
    load_ehr_registry,
)

CERNER = {
    "name": "cerner",
    "arrives": "bulk_export",
    "description": "A third EHR, delivered as a FHIR Bulk Data export.",
    "code_systems": {"condition": ["http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"]},
    "fhir_base_url": "https://ehr.example.org/fhir/r4",
    "group_id": "all-patients",
    "types": ["Patient", "Encounter"],
}


def _registry_with(tmp_path: Path, *extra: object) -> Path:
    document = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    document["systems"].extend(extra)
    path = tmp_path / "ehr_systems.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_the_shipped_registry_lists_the_simulated_systems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EHR_REGISTRY, raising=False)
    registry = load_ehr_registry()
    assert registry.source == DEFAULT_REGISTRY_PATH
    assert registry.names == ("athena", "epic")
    athena = registry.get("athena")
    assert athena.arrives == "landing_files" and athena.description
    assert athena.code_systems["condition"] == ["http://hl7.org/fhir/sid/icd-10-cm"]
    assert (athena.fhir_base_url, athena.types) == (None, ())


def test_a_new_system_is_one_entry_and_the_env_variable_points_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _registry_with(tmp_path, CERNER)
    monkeypatch.setenv(ENV_EHR_REGISTRY, str(path))
    registry = load_ehr_registry()
    assert registry.source == path and registry.names == ("athena", "epic", "cerner")
    cerner = registry.get("cerner")
    assert (cerner.arrives, cerner.group_id, cerner.types) == (
        "bulk_export",
        "all-patients",
        ("Patient", "Encounter"),
    )
    assert "cerner" in registry and "meditech" not in registry
    # an explicit path wins over the environment
    assert load_ehr_registry(DEFAULT_REGISTRY_PATH).names == ("athena", "epic")


def test_an_unknown_system_is_one_line_naming_the_registry() -> None:
    registry = load_ehr_registry(DEFAULT_REGISTRY_PATH)
    with pytest.raises(UnknownEhrSystem) as caught:
        registry.get("cerner")
    message = str(caught.value)
    assert "\n" not in message and "'cerner'" in message and str(DEFAULT_REGISTRY_PATH) in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({**CERNER, "arrives": "email"}, "systems[2] (cerner): arrives 'email' must be one of"),
        ({**CERNER, "name": "Cerner-1"}, "systems[2] (Cerner-1): name 'Cerner-1' must be lower-case"),
        ({**CERNER, "name": "adt"}, "systems[2] (adt): name 'adt' must be"),
        ({**CERNER, "name": "epic"}, "systems[2] (epic): duplicate name, see systems[1]"),
        (
            {k: v for k, v in CERNER.items() if k != "description"},
            "systems[2] (cerner): missing key(s) 'description'",
        ),
        ({**CERNER, "tenant": "x"}, "systems[2] (cerner): unknown key(s) 'tenant'"),
        ({**CERNER, "code_systems": {"Condition": ["x"]}}, "code_systems key 'Condition' must be"),
        ({**CERNER, "code_systems": {"condition": []}}, "code_systems.condition must be a non-empty list"),
        ({**CERNER, "types": ["patient"]}, "types must be a list of FHIR resource types"),
        ("cerner", "systems[2]: expected a mapping, got str"),
    ],
    ids=[
        "arrives",
        "name",
        "reserved",
        "duplicate",
        "missing",
        "unknown",
        "code key",
        "codes",
        "types",
        "scalar",
    ],
)
def test_a_bad_entry_is_one_line_naming_the_file_and_the_entry(
    tmp_path: Path, entry: object, complaint: str
) -> None:
    path = _registry_with(tmp_path, entry)
    with pytest.raises(RegistryError) as caught:
        load_ehr_registry(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"EHR registry {path}: ") and complaint in message, message


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("systems: [\n", "not valid YAML"),
        ("feeds: []\n", "expected a mapping with the one key 'systems'"),
        ("systems: []\n", "'systems' must be a non-empty list"),
    ],
    ids=["yaml", "key", "empty"],
)
def test_a_bad_file_is_one_line(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_ehr_registry(path)
    assert "\n" not in str(caught.value) and complaint in str(caught.value)
    with pytest.raises(RegistryError, match="cannot read it"):
        load_ehr_registry(tmp_path / "missing.yaml")


def test_the_api_loader_searches_every_system_but_the_bulk_exporting_ones(tmp_path: Path) -> None:
    registry = load_ehr_registry(_registry_with(tmp_path, CERNER))
    assert registry.names == ("athena", "epic", "cerner")
    assert registry.names_arriving("fhir_api", "landing_files") == ("athena", "epic")
    assert registry.names_arriving("bulk_export") == ("cerner",)


def test_the_great_expectations_suites_accept_every_registered_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.checks.gx_suites import SUITES

    monkeypatch.setenv(ENV_EHR_REGISTRY, str(_registry_with(tmp_path, CERNER)))
    encounter_suites = [s for s in SUITES if s.table in ("ehr__encounter", "int_encounters_completed")]
    assert len(encounter_suites) == 2
    for suite in encounter_suites:
        system_sets = [
            set(e.value_set)
            for e in suite.build_expectations()
            if getattr(e, "column", None) in ("ehr_system", "source_system") and hasattr(e, "value_set")
        ]
        assert system_sets == [{"athena", "epic", "cerner"}], suite.check_name
