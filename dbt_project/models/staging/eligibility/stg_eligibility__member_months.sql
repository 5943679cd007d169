-- ============================================================================
-- stg_eligibility__member_months
-- One row per bronze eligibility row of every payer roster file, typed: a
-- member covered by the payer on any day of eligibility_month. The file name
-- carries the coverage month (eligibility_<payer>_<YYYY-MM>.csv):
-- is_superseded marks rows of a file that a newer file of the same payer and
-- month replaced (delivered twice or resubmitted). The patient account
-- (ATH/EPC + 7 digits) links to the EHR patient: patient_system + patient_id
-- (the digits without leading zeros, as the EHR's FHIR id).
-- quarantine_reason (null = usable); never filters.
-- Incremental (delete+insert by source_file): each build types the lines of
-- the completed bronze loads newer than the greatest _dlt_load_id here, and
-- re-flags the current (not yet superseded) files of the payer months those
-- lines belong to, copied from this table: a newer file can only supersede a
-- current one (macro is_superseded_payer_file, see payer_files.sql).
-- --full-refresh gives the same rows.
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    indexes=[
        load_id_index(),
        {'columns': ['source_file']},
        {'columns': ['payer_feed_code', 'file_month']},
        {'columns': ['payer_code', 'eligibility_month']},
    ],
) }}

{% set rules = [
    {'name': 'invalid_date', 'quarantine': true,
     'when': "eligibility_month is null"},
    {'name': 'duplicate_row', 'quarantine': true,
     'when': "copy_rank > 1"},
] %}

{% set staged_columns %}
        ---------- ids
        payer_code,
        payer_feed_code,
        member_id,
        patient_account,
        patient_system,
        patient_id,

        ---------- codes
        product,
        plan_type,

        ---------- dates
        file_month,
        eligibility_month,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_eligibility_month,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source('eligibility', 'eligibility__member_months') }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids
        source_system as payer_feed_code,
        upper(source_system) as payer_code,
        nullif(trim(member_id), '') as member_id,
        upper(nullif(trim(patient_account), '')) as patient_account,

        ---------- codes
        lower(nullif(trim(product), '')) as product,
        upper(nullif(trim(plan_type), '')) as plan_type,

        ---------- raw values (as sent)
        nullif(trim(eligibility_month), '') as raw_eligibility_month,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- patient (the EHR's system and FHIR id)
        {{ account_patient_system('patient_account') }} as patient_system,
        {{ account_patient_id('patient_account') }} as patient_id,

        ---------- dates (the month's first day; any day of the month names the month)
        cast({{ dbt.date_trunc('month', safe_cast_date('raw_eligibility_month')) }} as date) as eligibility_month,
        {{ payer_file_month() }} as file_month,

        ---------- copies of one member month inside one file (1 = first)
        row_number() over (
            partition by source_file, member_id, raw_eligibility_month
            order by row_number
        ) as copy_rank

    from renamed

),

validated {{ materialized_cte() }} (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason
    from typed

),

staged as (

    select
        {{ staged_columns }}
    from validated

),

candidates as (

    -- the new rows and, on an incremental build, the current files here of the payer months
    -- they belong to (a newer file may supersede them)
    {{ new_and_previous_rows(staged_columns, current_payer_files('file_month')) }}

),

final as (

    select
        candidates.*,
        -- the newest file (arrival day, then batch) of a payer and month replaces every earlier one
        {{ is_superseded_payer_file('file_month') }} as is_superseded
    from candidates

)

select * from final
