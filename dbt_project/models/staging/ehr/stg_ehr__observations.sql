-- ============================================================================
-- stg_ehr__observations
-- One row per bronze Observation line (US Core vital signs and laboratory
-- results): LOINC code (the LOINC coding when the code has several), the
-- observation's own value (valueQuantity with its UCUM unit, or a coded
-- value), reference range, interpretation, and the raw component array of a
-- panel (e.g. blood pressure 85354-9 with systolic 8480-6 / diastolic 8462-4),
-- which cdm_observations turns into one row per component.
-- _dq_flags and quarantine_reason; never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'observation_id']}],
) }}

{#- the coding an observation is read by: LOINC wherever it is in code.coding[], else the first -#}
{% set observation_code_systems = ['http://loinc.org'] %}

{% set observation_statuses = ['registered', 'preliminary', 'final', 'amended', 'corrected',
                               'cancelled', 'entered-in-error', 'unknown'] %}

{% set rules =
    fhir_identity_rules('Observation', 'raw_observation_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "observation_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'unexpected_status', 'quarantine': false,
         'when': "observation_status is null or observation_status not in ('" ~ observation_statuses | join("', '") ~ "')"},
        {'name': 'non_loinc_code_system', 'quarantine': false,
         'when': "coalesce(observation_code_system, '') <> 'http://loinc.org'"},
        {'name': 'unparseable_value', 'quarantine': false,
         'when': "value_raw is not null and value_numeric is null"},
        {'name': 'unparseable_reference_range', 'quarantine': false,
         'when': "(range_low_raw is not null and reference_range_low is null)"
                 ~ " or (range_high_raw is not null and reference_range_high is null)"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('effective', 'effective_raw', 'effective_at', required=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__observation') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_observation_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as observation_status,
        {{ json_text('resource', ['category', 0, 'coding', 0, 'code']) }} as category_code,
        {{ fhir_preferred_coding('resource', ['code'], observation_code_systems, 'system') }} as observation_code_system,
        {{ fhir_preferred_coding('resource', ['code'], observation_code_systems, 'code') }} as observation_code,
        {{ fhir_preferred_coding('resource', ['code'], observation_code_systems, 'display') }} as observation_display,
        {{ json_text('resource', ['interpretation', 0, 'coding', 0, 'code']) }} as interpretation_code,

        ---------- the observation's own value (raw text)
        {{ json_text('resource', ['valueQuantity', 'value']) }} as value_raw,
        {{ json_text('resource', ['valueQuantity', 'comparator']) }} as value_comparator,
        {{ json_text('resource', ['valueQuantity', 'unit']) }} as value_unit,
        {{ json_text('resource', ['valueQuantity', 'code']) }} as value_unit_code,
        {{ json_text('resource', ['valueCodeableConcept', 'coding', 0, 'code']) }} as value_code,
        {{ json_text('resource', ['valueCodeableConcept', 'coding', 0, 'display']) }} as value_display,
        {{ json_text('resource', ['referenceRange', 0, 'low', 'value']) }} as range_low_raw,
        {{ json_text('resource', ['referenceRange', 0, 'high', 'value']) }} as range_high_raw,
        coalesce(
            {{ json_text('resource', ['referenceRange', 0, 'low', 'code']) }},
            {{ json_text('resource', ['referenceRange', 0, 'high', 'code']) }}
        ) as reference_range_unit_code,

        ---------- panel components (raw JSON array; one row each in cdm_observations)
        {{ json_value('resource', ['component']) }} as components,

        ---------- timestamps (raw text): effective[x] is a dateTime, an instant or a period
        coalesce(
            {{ json_text('resource', ['effectiveDateTime']) }},
            {{ json_text('resource', ['effectiveInstant']) }},
            {{ json_text('resource', ['effectivePeriod', 'start']) }}
        ) as effective_raw,
        {{ json_text('resource', ['meta', 'lastUpdated']) }} as last_updated_raw,

        ---------- lineage
        ehr_system as source_system,
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- ids
        case when {{ regex_full_match('raw_observation_id', fhir_id_pattern()) }} then raw_observation_id end as observation_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,

        ---------- amounts
        {{ safe_cast_numeric('value_raw') }} as value_numeric,
        {{ safe_cast_numeric('range_low_raw') }} as reference_range_low,
        {{ safe_cast_numeric('range_high_raw') }} as reference_range_high,
        cast({{ json_array_length('components') }} as {{ dbt.type_int() }}) as component_count,

        ---------- timestamps: the date is the source's local date, as sent
        {{ safe_cast_timestamptz('effective_raw') }} as effective_at,
        {{ safe_cast_date('substr(effective_raw, 1, 10)') }} as effective_date,
        {{ safe_cast_timestamptz('last_updated_raw') }} as source_last_updated_at

    from renamed

),

validated {{ materialized_cte() }} (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

final as (

    select
        ---------- ids
        source_system,
        observation_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in int_observations_deduplicated)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        observation_status,
        category_code,
        observation_code_system,
        observation_code,
        observation_display,
        interpretation_code,

        ---------- value, unit and reference range
        value_numeric,
        value_comparator,
        value_unit,
        value_unit_code,
        value_code,
        value_display,
        reference_range_low,
        reference_range_high,
        reference_range_unit_code,

        ---------- panel components
        component_count,
        components,

        ---------- timestamps
        effective_at,
        effective_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_observation_id,

        ---------- lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from validated

)

select * from final
