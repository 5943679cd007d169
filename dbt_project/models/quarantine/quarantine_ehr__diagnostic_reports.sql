-- ============================================================================
-- quarantine_ehr__diagnostic_reports
-- Every staged DiagnosticReport line that cannot be used (quarantine_reason is not
-- null), with the reason, all flags and the bronze lineage that locates the
-- raw line (source_file + line_number in bronze.ehr__diagnosticreport).
-- count(bronze) = count(this) + sum(int_diagnostic_reports_deduplicated.versions_seen).
-- Incremental: each build appends the quarantined staged lines of loads
-- newer than the greatest _dlt_load_id already here.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    indexes=[load_id_index()],
) }}

with

staged as (

    select * from {{ ref('stg_ehr__diagnostic_reports') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        source_system,
        raw_diagnostic_report_id,
        patient_id,
        encounter_id,
        report_code,
        effective_at,
        source_last_updated_at,

        ---------- bronze lineage
        tenant,
        environment,
        batch_id,
        source_file,
        line_number,
        ingested_at,
        _dlt_load_id

    from staged
    where quarantine_reason is not null
        and {{ incremental_load_filter() }}

)

select * from final
