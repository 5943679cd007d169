-- ============================================================================
-- stg_ehr__encounters
-- One row per bronze Encounter line (athena + epic): typed FHIR R4 fields,
-- _dq_flags (every rule that fired) and quarantine_reason (null = usable).
-- Never filters: count(stg) = count(bronze.ehr__encounter).
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'encounter_id']}],
) }}

{% set rules =
    fhir_identity_rules('Encounter', 'raw_encounter_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'invalid_status', 'quarantine': true,
         'when': "encounter_status is null or encounter_status not in (select code from statuses)"},
    ]
    + fhir_datetime_rules('period_start', 'period_start_raw', 'period_start_at', required=true, quarantine=true)
    + fhir_datetime_rules('period_end', 'period_end_raw', 'period_end_at', quarantine=true)
    + [
        {'name': 'end_before_start', 'quarantine': true,
         'when': "period_end_at < period_start_at"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'missing_end', 'quarantine': false,
         'when': "period_end_raw is null and encounter_status in (select code from statuses where is_completed)"},
        {'name': 'missing_class', 'quarantine': false,
         'when': "encounter_class_code is null"},
        {'name': 'unknown_class', 'quarantine': false,
         'when': "encounter_class_code is not null and encounter_class_code not in (select code from classes)"},
        {'name': 'missing_type', 'quarantine': false,
         'when': "encounter_type_code is null"},
    ]
    + fhir_reference_rules('practitioner', 'practitioner_reference', 'practitioner_id', conditional=true)
    + fhir_reference_rules('organization', 'organization_reference', 'organization_id', conditional=true)
    + fhir_reference_rules('location', 'location_reference', 'location_id', conditional=true)
%}

with

source as (

    select * from {{ source('ehr', 'ehr__encounter') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

statuses as (

    select code, is_completed from {{ ref('encounter_statuses') }}

),

classes as (

    select code from {{ ref('encounter_classes') }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_encounter_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['participant', 0, 'individual', 'reference']) }} as practitioner_reference,
        {{ json_text('resource', ['serviceProvider', 'reference']) }} as organization_reference,
        {{ json_text('resource', ['location', 0, 'location', 'reference']) }} as location_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as encounter_status,
        {{ json_text('resource', ['class', 'code']) }} as encounter_class_code,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'code']) }} as encounter_type_code,
        {{ json_text('resource', ['type', 0, 'coding', 0, 'display']) }} as encounter_type_display,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['period', 'start']) }} as period_start_raw,
        {{ json_text('resource', ['period', 'end']) }} as period_end_raw,
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
        case when {{ regex_full_match('raw_encounter_id', fhir_id_pattern()) }} then raw_encounter_id end as encounter_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference('practitioner_reference', 'Practitioner', 'practitioner_id') }},
        {{ fhir_reference('organization_reference', 'Organization', 'organization_id') }},
        {{ fhir_reference('location_reference', 'Location', 'location_id') }},

        ---------- timestamps
        {{ safe_cast_timestamptz('period_start_raw') }} as period_start_at,
        {{ safe_cast_timestamptz('period_end_raw') }} as period_end_at,
        -- calendar day of period.start as the source recorded it (local to its offset)
        {{ safe_cast_date('substr(period_start_raw, 1, 10)') }} as period_start_date,
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
        encounter_id,
        patient_id,
        practitioner_id,
        organization_id,
        location_id,

        ---------- conditional references (resolved in int_encounters_deduplicated)
        patient_identifier_system,
        patient_identifier_value,
        practitioner_identifier_system,
        practitioner_identifier_value,
        organization_identifier_system,
        organization_identifier_value,
        location_identifier_system,
        location_identifier_value,

        ---------- codes
        encounter_status,
        encounter_class_code,
        encounter_type_code,
        encounter_type_display,

        ---------- timestamps
        period_start_at,
        period_end_at,
        period_start_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_encounter_id,

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
