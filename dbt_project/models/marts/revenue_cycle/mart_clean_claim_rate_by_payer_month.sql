-- ============================================================================
-- mart_clean_claim_rate_by_payer_month
-- Grain: payer x month of first adjudication. A clean claim is paid on its
-- first adjudication, every line of it, without denial or rework; the
-- clean-claim rate is clean claims / adjudicated claims (industry target:
-- 95%+).
-- ============================================================================

with

claim_lines as (

    select * from {{ ref('fct_claims') }}
    where first_claim_status is not null

),

claims as (

    select
        payer_key,
        claim_key,
        min(first_adjudicated_month) as first_adjudicated_month,
        min(case when is_clean_line then 1 else 0 end) = 1 as is_clean
    from claim_lines
    group by payer_key, claim_key

),

final as (

    select
        payer_key,
        first_adjudicated_month as adjudication_month,
        cast(count(*) as {{ dbt.type_int() }}) as adjudicated_claims,
        cast(sum(case when is_clean then 1 else 0 end) as {{ dbt.type_int() }}) as clean_claims,
        cast(round(cast(sum(case when is_clean then 1 else 0 end) as {{ dbt.type_numeric() }}) / count(*), 4) as {{ dbt.type_numeric() }}) as clean_claim_rate
    from claims
    group by payer_key, first_adjudicated_month

)

select * from final
