-- ============================================================================
-- stg_claims__claim_lines
-- One row per bronze claim-line row of every payer file, typed. The file
-- name carries the adjudication month (claims_<payer>_<YYYY-MM>.csv). Schema
-- evolution: a payer that renamed denial_reason to denial_reason_code (and
-- added plan_type) is read through both names. is_superseded marks rows of
-- a file that a newer file of the same payer and month replaced (resubmitted
-- or delivered twice): superseded rows are valid, just not current.
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
        {'columns': ['payer_feed_code', 'claim_month']},
    ],
) }}

{% set source_relation = source('claims', 'claims__claim_lines') %}
{% set claim_statuses = ['paid', 'denied', 'pending', 'adjusted'] %}

{% set rules = [
    {'name': 'invalid_date', 'quarantine': true,
     'when': "service_date is null or submitted_date is null or (raw_paid_date is not null and paid_date is null)"},
    {'name': 'invalid_amount', 'quarantine': true,
     'when': "billed_amount is null or allowed_amount is null or paid_amount is null"},
    {'name': 'missing_id', 'quarantine': true,
     'when': "claim_id is null or claim_line is null"},
    {'name': 'invalid_status', 'quarantine': true,
     'when': "claim_status is null or claim_status not in ('" ~ claim_statuses | join("', '") ~ "')"},
    {'name': 'invalid_file_name', 'quarantine': true,
     'when': "claim_month is null"},
    {'name': 'duplicate_row', 'quarantine': true,
     'when': "copy_rank > 1"},
] %}

{% set staged_columns %}
        ---------- ids
        payer_feed_code,
        claim_id,
        claim_line,
        billing_system,
        line_control_number,
        patient_account,
        provider_npi,

        ---------- codes
        claim_status,
        denial_reason_code,
        plan_type,

        ---------- dates
        claim_month,
        service_date,
        submitted_date,
        paid_date,

        ---------- amounts
        billed_amount,
        allowed_amount,
        paid_amount,

        ---------- data quality
        _dq_flags,
        quarantine_reason,
        raw_service_date,
        raw_submitted_date,
        raw_paid_date,
        raw_billed_amount,
        raw_allowed_amount,
        raw_paid_amount,

        ---------- lineage
        {{ feed_lineage_columns() }}
{% endset %}

with

source as (

    select * from {{ source_relation }}
    where {{ incremental_load_filter(completed_only=true) }}

),

renamed as (

    select
        ---------- ids
        source_system as payer_feed_code,
        nullif(trim(claim_id), '') as claim_id,
        nullif(trim(claim_line), '') as raw_claim_line,
        nullif(trim(line_control_number), '') as line_control_number,
        nullif(trim(patient_account), '') as patient_account,
        nullif(trim(provider_npi), '') as provider_npi,

        ---------- codes (denial_reason was renamed denial_reason_code by some payers)
        lower(nullif(trim(claim_status), '')) as claim_status,
        upper(nullif(trim(coalesce(
            nullif({{ column_or_null(source_relation, 'denial_reason') }}, ''),
            {{ column_or_null(source_relation, 'denial_reason_code') }}
        )), '')) as denial_reason_code,
        nullif(trim({{ column_or_null(source_relation, 'plan_type') }}), '') as plan_type,

        ---------- raw values (as sent)
        nullif(trim(service_date), '') as raw_service_date,
        nullif(trim(submitted_date), '') as raw_submitted_date,
        nullif(trim(paid_date), '') as raw_paid_date,
        billed_amount as raw_billed_amount,
        allowed_amount as raw_allowed_amount,
        paid_amount as raw_paid_amount,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed {{ materialized_cte() }} (

    select
        renamed.*,

        ---------- ids
        {{ safe_cast_integer('raw_claim_line') }} as claim_line,
        case
            when claim_id like 'ATH-%' then 'athena'
            when claim_id like 'EPC-%' then 'epic'
        end as billing_system,

        ---------- dates
        {{ safe_cast_date('raw_service_date') }} as service_date,
        {{ safe_cast_date('raw_submitted_date') }} as submitted_date,
        {{ safe_cast_date('raw_paid_date') }} as paid_date,
        {{ payer_file_month() }} as claim_month,

        ---------- amounts
        {{ safe_cast_numeric('raw_billed_amount') }} as billed_amount,
        {{ safe_cast_numeric('raw_allowed_amount') }} as allowed_amount,
        {{ safe_cast_numeric('raw_paid_amount') }} as paid_amount,

        ---------- copies of one line inside one file (1 = first)
        row_number() over (
            partition by source_file, claim_id, raw_claim_line
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

    -- the new lines and, on an incremental build, the current files here of the payer months
    -- they belong to (a newer file may supersede them)
    {{ new_and_previous_rows(staged_columns, current_payer_files('claim_month')) }}

),

final as (

    select
        candidates.*,
        -- the newest file (arrival day, then batch) of a payer and month replaces every earlier one
        {{ is_superseded_payer_file('claim_month') }} as is_superseded
    from candidates

)

select * from final
