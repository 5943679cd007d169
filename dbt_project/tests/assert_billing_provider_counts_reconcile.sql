-- ============================================================================
-- Nothing is lost silently (billing providers): every row of each billing
-- system's newest full extract is either in the current roster or quarantined.
-- Returns one row (with the numbers) when the books do not balance.
-- ============================================================================

{{ config(meta={'dagster': {'ref': {'name': 'int_billing_providers_current'}}}) }}

with

latest as (

    select count(*) as latest_rows
    from {{ ref('stg_billing__providers') }}
    where is_latest_extract

),

counts as (

    select
        latest.latest_rows,
        (select count(*) from {{ ref('int_billing_providers_current') }}) as current_rows,
        (select count(*) from {{ ref('quarantine_billing__providers') }}) as quarantined_rows
    from latest

)

select *
from counts
where latest_rows <> current_rows + quarantined_rows
