-- ============================================================================
-- Nothing is lost silently (eligibility):
--   count(bronze) = count(stg) = count(quarantine) + count(usable stg rows)
-- and int_member_months holds exactly one row per payer, patient (or member,
-- when the account links to no patient) and month of the usable rows of the
-- current files. Returns one row (with the numbers) when the books do not
-- balance.
-- ============================================================================

{{ config(meta={'dagster': {'ref': {'name': 'int_member_months'}}}) }}

with

staged as (

    select * from {{ ref('stg_eligibility__member_months') }}

),

current_member_months as (

    select distinct
        payer_code,
        patient_system,
        patient_id,
        case when patient_id is null then member_id end as unlinked_member_id,
        eligibility_month
    from staged
    where quarantine_reason is null
        and not is_superseded

),

counts as (

    select
        (select count(*) from {{ source('eligibility', 'eligibility__member_months') }}) as bronze_rows,
        (select count(*) from staged) as staged_rows,
        (select count(*) from {{ ref('quarantine_eligibility__member_months') }}) as quarantined_rows,
        (select count(*) from staged where quarantine_reason is null) as usable_rows,
        (select count(*) from current_member_months) as current_member_months,
        (select count(*) from {{ ref('int_member_months') }}) as member_months

)

select *
from counts
where bronze_rows <> staged_rows
   or staged_rows <> quarantined_rows + usable_rows
   or current_member_months <> member_months
