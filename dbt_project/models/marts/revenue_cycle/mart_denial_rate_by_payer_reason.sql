-- ============================================================================
-- mart_denial_rate_by_payer_reason
-- Grain: payer x denial reason (CARC). Initial denial rate: claim lines
-- denied at their first adjudication / all claim lines the payer has
-- adjudicated; the rates of one payer's reasons add up to its denial rate.
-- ============================================================================

with

claims as (

    select * from {{ ref('fct_claims') }}
    where first_claim_status is not null

),

adjudicated as (

    select payer_key, count(*) as adjudicated_lines
    from claims
    group by payer_key

),

denied as (

    select payer_key, first_denial_reason_key, first_denial_reason_code, count(*) as denied_lines,
        sum(billed_amount) as denied_billed_amount
    from claims
    where is_initially_denied
    group by payer_key, first_denial_reason_key, first_denial_reason_code

),

final as (

    select
        denied.payer_key,
        denied.first_denial_reason_key as denial_reason_key,
        denied.first_denial_reason_code as denial_reason_code,
        cast(denied.denied_lines as {{ dbt.type_int() }}) as denied_lines,
        cast(adjudicated.adjudicated_lines as {{ dbt.type_int() }}) as adjudicated_lines,
        cast(denied.denied_billed_amount as {{ dbt.type_numeric() }}) as denied_billed_amount,
        cast(round(cast(denied.denied_lines as {{ dbt.type_numeric() }}) / adjudicated.adjudicated_lines, 4) as {{ dbt.type_numeric() }}) as denial_rate
    from denied
    inner join adjudicated
        on adjudicated.payer_key = denied.payer_key

)

select * from final
