-- ============================================================================
-- cdm_diagnostic_reports
-- Common data model: one row per diagnostic report of either EHR, keyed to
-- its patient and encounter. is_issued: results were released (status
-- partial, preliminary, final, amended, corrected or appended). The free
-- text (conclusion, narrative) is PHI-ish and never leaves silver.
-- ============================================================================

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unique_key=['source_system', 'diagnostic_report_id'],
    indexes=[{'columns': ['source_system', 'diagnostic_report_id'], 'unique': true}, load_id_index()],
) }}

with

reports as (

    -- incremental: the keys int_diagnostic_reports_deduplicated recomputed in the same build
    select deduplicated.*
    from {{ ref('int_diagnostic_reports_deduplicated') }} as deduplicated
    {{ touched_keys_join('deduplicated', ref('stg_ehr__diagnostic_reports'), ['source_system', 'diagnostic_report_id'], ehr_references('diagnostic_reports')) }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['source_system', 'diagnostic_report_id']) }} as diagnostic_report_key,
        {{ surrogate_key(['source_system', 'patient_id']) }} as patient_key,
        {{ optional_surrogate_key('encounter_id', ['source_system', 'encounter_id']) }} as encounter_key,

        ---------- source ids
        source_system,
        diagnostic_report_id,
        patient_id,
        encounter_id,

        ---------- codes
        report_status,
        report_status in ('partial', 'preliminary', 'final', 'amended', 'corrected', 'appended') as is_issued,
        category_code,
        category_display,
        report_code_system,
        report_code,
        report_display,

        ---------- free text (PHI-ish: silver only)
        conclusion,
        narrative_html,

        ---------- timestamps
        effective_at,
        issued_at,
        source_last_updated_at,

        ---------- data quality
        _dq_flags,

        ---------- lineage: the winning version's load (the incremental watermark)
        _dlt_load_id

    from reports

)

select * from final
