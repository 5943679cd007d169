-- ============================================================================
-- stg_ehr__diagnostic_reports
-- One row per bronze DiagnosticReport line (athena + epic): LOINC coded
-- reports with patient/encounter ids, times, and the free-text conclusion and
-- narrative (PHI-ish: silver only), _dq_flags and quarantine_reason.
-- Never filters.
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'diagnostic_report_id']}],
) }}

{% set report_statuses = ['registered', 'partial', 'preliminary', 'final', 'amended', 'corrected',
                          'appended', 'cancelled', 'entered-in-error', 'unknown'] %}

{% set rules =
    fhir_identity_rules('DiagnosticReport', 'raw_diagnostic_report_id')
    + fhir_reference_rules('patient', 'patient_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'missing_code', 'quarantine': true,
         'when': "report_code is null"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'unexpected_status', 'quarantine': false,
         'when': "report_status is null or report_status not in ('" ~ report_statuses | join("', '") ~ "')"},
        {'name': 'non_loinc_code_system', 'quarantine': false,
         'when': "coalesce(report_code_system, '') <> 'http://loinc.org'"},
    ]
    + fhir_reference_rules('encounter', 'encounter_reference', 'encounter_id')
    + fhir_datetime_rules('effective_at', 'effective_raw', 'effective_at')
    + fhir_datetime_rules('issued_at', 'issued_raw', 'issued_at')
%}

with

source as (

    select * from {{ source('ehr', 'ehr__diagnosticreport') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_diagnostic_report_id,
        {{ json_text('resource', ['subject', 'reference']) }} as patient_reference,
        {{ json_text('resource', ['encounter', 'reference']) }} as encounter_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as report_status,
        {{ json_text('resource', ['category', 0, 'coding', 0, 'code']) }} as category_code,
        {{ json_text('resource', ['category', 0, 'coding', 0, 'display']) }} as category_display,
        {{ json_text('resource', ['code', 'coding', 0, 'system']) }} as report_code_system,
        {{ json_text('resource', ['code', 'coding', 0, 'code']) }} as report_code,
        {{ json_text('resource', ['code', 'coding', 0, 'display']) }} as report_display,

        ---------- free text (PHI-ish: silver only)
        {{ json_text('resource', ['conclusion']) }} as conclusion,
        {{ json_text('resource', ['text', 'div']) }} as narrative_html,

        ---------- timestamps (raw text)
        {{ json_text('resource', ['effectiveDateTime']) }} as effective_raw,
        {{ json_text('resource', ['issued']) }} as issued_raw,
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
        case when {{ regex_full_match('raw_diagnostic_report_id', fhir_id_pattern()) }} then raw_diagnostic_report_id end as diagnostic_report_id,
        {{ fhir_reference('patient_reference', 'Patient', 'patient_id') }},
        {{ fhir_reference_id('encounter_reference', 'Encounter') }} as encounter_id,

        ---------- timestamps
        {{ safe_cast_timestamptz('effective_raw') }} as effective_at,
        {{ safe_cast_timestamptz('issued_raw') }} as issued_at,
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
        diagnostic_report_id,
        patient_id,
        encounter_id,

        ---------- conditional references (resolved in the int model)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        report_status,
        category_code,
        category_display,
        report_code_system,
        report_code,
        report_display,

        ---------- free text (PHI-ish)
        conclusion,
        narrative_html,

        ---------- timestamps
        effective_at,
        issued_at,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_diagnostic_report_id,

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
