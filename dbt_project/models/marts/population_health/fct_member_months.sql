-- ============================================================================
-- fct_member_months
-- Grain: payer x patient x month the payer's eligibility file lists the
-- patient as a member (silver int_member_months: usable rows, newest file per
-- payer and month, a member listed twice counts once). The denominator of
-- every per-member-per-month figure. A patient covered by two payers in one
-- month is a member month of each. A member whose account links to no EHR
-- patient keeps its row (patient_durable_key null): the payer still counts it.
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='member_month_key') }}

with

member_months as (

    select * from {{ ref('int_member_months') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['payer_code', 'patient_key', 'member_id', 'eligibility_month']) }} as member_month_key,
        patient_key as patient_durable_key,
        payer_key,
        {{ date_key('eligibility_month') }} as month_start_date_key,

        ---------- attributes
        eligibility_month as month_start_date,
        product,
        plan_type

    from member_months

)

select * from final
