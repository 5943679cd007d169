-- ============================================================================
-- quarantine_billing__providers
-- Providers of each system's newest full extract that cannot be used (an NPI
-- that fails the check digit, a missing id), with the bronze lineage. Older
-- extracts are superseded, not quarantined: count(newest extracts in bronze)
-- = count(this) + count(silver.int_billing_providers_current).
-- Stays a table: it holds the newest extracts' rows only, which each day's
-- extract replaces whole.
-- ============================================================================

with

staged as (

    select * from {{ ref('stg_billing__providers') }}

),

final as (

    select
        ---------- why
        quarantine_reason,
        _dq_flags,

        ---------- what
        source_system,
        provider_id,
        npi,
        dept_id,

        ---------- bronze lineage
        {{ feed_lineage_columns() }}

    from staged
    where quarantine_reason is not null
        and is_latest_extract

)

select * from final
