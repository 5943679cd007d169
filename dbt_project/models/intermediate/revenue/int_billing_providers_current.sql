-- ============================================================================
-- int_billing_providers_current
-- The current billing provider roster: the newest full extract of each
-- billing system, rows with a valid NPI only. provider_id is the EHR
-- practitioner id of the same system, so practitioner_key is the EHR's key.
-- Stays a table: a small current roster (the newest extract of each system)
-- that each day's extract replaces whole.
-- ============================================================================

with

providers as (

    select * from {{ ref('stg_billing__providers') }}
    where is_latest_extract
        and quarantine_reason is null

),

final as (

    select
        {{ surrogate_key(['source_system', 'provider_id']) }} as practitioner_key,

        source_system,
        provider_id,
        npi,
        dept_id,
        specialty,
        source_modified_at

    from providers

)

select * from final
