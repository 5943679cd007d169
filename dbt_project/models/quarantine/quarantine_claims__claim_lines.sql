-- ============================================================================
-- quarantine_claims__claim_lines
-- Every payer claim-line row that cannot be used (unparseable date or amount,
-- a second copy of a line inside one file, ...), from current and superseded
-- files alike, with the values as sent and the bronze lineage.
-- count(bronze) = count(this) + count(usable rows of stg_claims__claim_lines).
-- Incremental: each build appends the quarantined staged rows of loads
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

    select * from {{ ref('stg_claims__claim_lines') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        payer_feed_code,
        claim_id,
        claim_line,
        claim_month,
        claim_status,
        raw_service_date,
        raw_submitted_date,
        raw_paid_date,
        raw_billed_amount,
        raw_allowed_amount,
        raw_paid_amount,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null
        and {{ incremental_load_filter() }}

)

select * from final
