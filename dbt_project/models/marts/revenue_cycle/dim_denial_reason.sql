-- ============================================================================
-- dim_denial_reason
-- One row per claim adjustment reason code (CARC) the payers deny with
-- (seed denial_reasons), plus an inferred row for any code a payer sent that
-- the seed does not list yet.
-- ============================================================================

with

seeded as (

    select denial_reason_code, group_code, description, is_avoidable from {{ ref('denial_reasons') }}

),

sent as (

    select distinct denial_reason_code from {{ ref('int_claim_lines_current') }}
    where denial_reason_code is not null

),

final as (

    select
        {{ surrogate_key(['seeded.denial_reason_code']) }} as denial_reason_key,
        seeded.denial_reason_code,
        seeded.group_code,
        seeded.description,
        seeded.is_avoidable,
        true as is_in_code_set
    from seeded

    union all

    select
        {{ surrogate_key(['sent.denial_reason_code']) }} as denial_reason_key,
        sent.denial_reason_code,
        substr(sent.denial_reason_code, 1, 2) as group_code,
        cast(null as {{ dbt.type_string() }}) as description,
        cast(null as {{ dbt.type_boolean() }}) as is_avoidable,
        false as is_in_code_set
    from sent
    left join seeded
        on seeded.denial_reason_code = sent.denial_reason_code
    where seeded.denial_reason_code is null

)

select * from final
