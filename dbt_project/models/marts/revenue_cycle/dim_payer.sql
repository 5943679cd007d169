-- ============================================================================
-- dim_payer
-- One row per payer: the payers seed (commercial plans, Medicare, Medicaid,
-- self-pay) plus an inferred member for every claims feed whose payer is not
-- in the seed yet (a feed onboarded through ingestion/load_config.yaml
-- alone), so no claim ever points at a missing payer.
-- ============================================================================

with

seeded as (

    select payer_code, payer_name, payer_type, claims_feed_code from {{ ref('payers') }}

),

fed as (

    select distinct payer_feed_code, payer_code from {{ ref('int_claim_lines_current') }}

),

inferred as (

    select
        fed.payer_code,
        cast(null as {{ dbt.type_string() }}) as payer_name,
        'unknown' as payer_type,
        fed.payer_feed_code as claims_feed_code
    from fed
    left join seeded
        on seeded.payer_code = fed.payer_code
    where seeded.payer_code is null

),

payers as (

    select *, true as is_in_payer_seed from seeded
    union all
    select *, false as is_in_payer_seed from inferred

),

final as (

    select
        {{ surrogate_key(['payers.payer_code']) }} as payer_key,
        payers.payer_code,
        coalesce(payers.payer_name, payers.payer_code) as payer_label,
        payers.payer_type,
        nullif(payers.claims_feed_code, '') as claims_feed_code,
        payers.is_in_payer_seed,
        exists (
            select 1 from fed where fed.payer_code = payers.payer_code
        ) as has_claims_feed
    from payers

)

select * from final
