-- ============================================================================
-- quarantine_billing__transactions
-- Every billing transaction row that cannot be used, with the reason, the
-- values as sent and the bronze lineage (source_file + row_number locate the
-- raw row). count(bronze) = count(this) + count(silver.cdm_transactions).
-- ============================================================================

with

staged as (

    select * from {{ ref('stg_billing__transactions') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        source_system,
        transaction_id,
        charge_id,
        transaction_type,
        payer_code,
        raw_service_date,
        raw_posting_date,
        raw_amount,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null

)

select * from final
