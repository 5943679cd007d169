-- ============================================================================
-- stg_ehr__coverages
-- One row per bronze Coverage line (athena + epic): the patient's insurance
-- (type, payer, period, status), _dq_flags and quarantine_reason (null =
-- usable). Never filters: count(stg) = count(bronze.ehr__coverage).
-- Incremental: each build appends the lines of the completed bronze loads
-- newer than the greatest _dlt_load_id already here (--full-refresh: all
-- completed loads, the same rows); macros/incremental/incremental_loads.sql.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index(), {'columns': ['source_system', 'coverage_id']}],
) }}

{% set coverage_statuses = ['active', 'cancelled', 'draft', 'entered-in-error'] %}
{% set insurance_types = ['commercial', 'medicare', 'medicaid', 'self-pay'] %}

{% set rules =
    fhir_identity_rules('Coverage', 'raw_coverage_id')
    + fhir_reference_rules('beneficiary', 'beneficiary_reference', 'patient_id', required=true, conditional=true)
    + [
        {'name': 'invalid_status', 'quarantine': true,
         'when': "coverage_status is null or coverage_status not in ('" ~ coverage_statuses | join("', '") ~ "')"},
    ]
    + fhir_datetime_rules('period_start', 'period_start_raw', 'period_start_date', quarantine=true)
    + fhir_datetime_rules('period_end', 'period_end_raw', 'period_end_date', quarantine=true)
    + [
        {'name': 'end_before_start', 'quarantine': true,
         'when': "period_end_date < period_start_date"},
    ]
    + fhir_datetime_rules('last_updated', 'last_updated_raw', 'source_last_updated_at', quarantine=true)
    + [
        {'name': 'missing_last_updated', 'quarantine': false,
         'when': "last_updated_raw is null"},
        {'name': 'missing_period_start', 'quarantine': false,
         'when': "period_start_raw is null"},
        {'name': 'missing_insurance_type', 'quarantine': false,
         'when': "insurance_type_code is null"},
        {'name': 'unknown_insurance_type', 'quarantine': false,
         'when': "insurance_type_code is not null and insurance_type_code not in ('" ~ insurance_types | join("', '") ~ "')"},
        {'name': 'missing_payor', 'quarantine': false,
         'when': "payor_name is null"},
    ]
%}

with

source as (

    select * from {{ source('ehr', 'ehr__coverage') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids and references (raw text)
        {{ json_text('resource', ['resourceType']) }} as resource_type,
        {{ json_text('resource', ['id']) }} as raw_coverage_id,
        {{ json_text('resource', ['beneficiary', 'reference']) }} as beneficiary_reference,

        ---------- codes
        {{ json_text('resource', ['status']) }} as coverage_status,
        {{ json_text('resource', ['type', 'coding', 0, 'system']) }} as insurance_type_system,
        {{ json_text('resource', ['type', 'coding', 0, 'code']) }} as insurance_type_code,
        {{ json_text('resource', ['payor', 0, 'display']) }} as payor_name,

        ---------- dates (raw text)
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
        case when {{ regex_full_match('raw_coverage_id', fhir_id_pattern()) }} then raw_coverage_id end as coverage_id,
        {{ fhir_reference('beneficiary_reference', 'Patient', 'patient_id') }},

        ---------- dates: FHIR period.start/end are dateTimes; carehouse keeps the calendar day sent
        {{ safe_cast_date('substr(period_start_raw, 1, 10)') }} as period_start_date,
        {{ safe_cast_date('substr(period_end_raw, 1, 10)') }} as period_end_date,
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
        coverage_id,
        patient_id,

        ---------- conditional references (resolved in the int model)
        patient_identifier_system,
        patient_identifier_value,

        ---------- codes
        coverage_status,
        insurance_type_system,
        insurance_type_code,
        payor_name,

        ---------- dates
        period_start_date,
        period_end_date,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_coverage_id,

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
