-- ============================================================================
-- quarantine_pharmacy__fills
-- Every pharmacy-claim row that cannot be used (unparseable fill date or
-- amount, impossible days supply, invalid prescriber NPI, a second copy of a
-- claim row inside one file), from current and superseded files alike, with
-- the values as sent and the bronze lineage.
-- count(bronze) = count(this) + count(usable rows of stg_pharmacy__fills).
-- Incremental (delete+insert by source_file): each build takes the
-- quarantined staged rows of loads newer than the greatest _dlt_load_id here,
-- and again those of the files here that were current in the payer months
-- those loads touched (a newer file may have superseded them: is_superseded
-- changes).
-- ============================================================================

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    indexes=[load_id_index(), {'columns': ['source_file']}],
) }}

with

staged as (

    select * from {{ ref('stg_pharmacy__fills') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        payer_code,
        rx_claim_id,
        claim_status,
        member_id,
        prescriber_npi,
        file_month,
        is_superseded,
        raw_fill_date,
        raw_days_supply,
        raw_quantity,
        raw_paid_amount,
        raw_patient_paid_amount,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null
        and (
            {{ incremental_load_filter() }}
            -- the files here that were current in a payer month of a new load (a newer file may supersede them)
            or {{ current_payer_files('file_month', held_here=false) }}
        )

)

select * from final
