-- ============================================================================
-- quarantine_eligibility__member_months
-- Every eligibility row that cannot be used (unparseable eligibility month, a
-- second copy of a member month inside one file), from current and superseded
-- files alike, with the values as sent and the bronze lineage.
-- count(bronze) = count(this) + count(usable rows of
-- stg_eligibility__member_months).
-- ============================================================================

with

staged as (

    select * from {{ ref('stg_eligibility__member_months') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what (as far as it could be read)
        payer_code,
        member_id,
        file_month,
        is_superseded,
        raw_eligibility_month,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null

)

select * from final
