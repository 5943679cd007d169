-- ============================================================================
-- stg_ehr__procedures
-- One row per bronze Procedure line of every EHR: the procedure code (CPT,
-- else HCPCS, else SNOMED CT, else the first coding, with its code_system)
-- with patient/encounter ids, _dq_flags and quarantine_reason. Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'procedure_id']}],
) }}

{% set procedure_statuses = ['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped',
                             'completed', 'entered-in-error', 'unknown'] %}

{#- the coding a procedure is read by: CPT, then HCPCS, then SNOMED CT anywhere in code.coding[], else the first -#}
{% set procedure_code_systems = ['http://www.ama-assn.org/go/cpt',
                                 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
                                 'http://snomed.info/sct'] %}

{% set rules =
    fhir_identity_rules('Procedure', 'raw_procedure_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "procedure_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'unexpected_status', 'quarantine': false,
         'when': "procedure_status is null or procedure_status not in ('" ~ procedure_statuses | join("', '") ~ "')"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('performed_at', 'performed_raw', 'performed_at')
%}

with

source as (

    select * from {{ source('ehr', 'ehr__procedure') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_procedure_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as procedure_status,
        {{ fhir_preferred_coding('resource', ['code'], procedure_code_systems, 'system') }} as code_system,
        {{ fhir_preferred_coding('resource', ['code'], procedure_code_systems, 'code') }} as procedure_code,
        {{ fhir_preferred_coding('resource', ['code'], procedure_code_systems, 'display') }} as procedure_display,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['performedDateTime']) }} as performed_raw,
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
        case when {{ regex_full_match('raw_procedure_id', fhir_id_pattern()) }} then raw_procedure_id end as procedure_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,

        ---------- timestamps
        {{ safe_cast_timestamptz('performed_raw') }} as performed_at,
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
        procedure_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in the int model)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        procedure_status,
        code_system,
        procedure_code,
        procedure_display,

        ---------- timestamps
        performed_at,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_procedure_id,

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
