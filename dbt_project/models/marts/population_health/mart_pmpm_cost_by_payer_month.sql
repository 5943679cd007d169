-- ============================================================================
-- mart_pmpm_cost_by_payer_month
-- Per-member-per-month cost by payer and month. Grain: payer_key x
-- month_start_date, for every month the payer's eligibility file lists
-- members (the denominator; costs of months without members stay in the
-- facts). Paid amounts are what the payer paid:
--   medical    gold.fct_claims paid_amount (latest state of each claim line)
--              by the month of its service date
--   pharmacy   gold.fct_pharmacy_fills paid_amount by the fill month
--   pmpm       paid / member months, 2 decimals
-- Recent months are provisional (is_provisional): claim lines still pending
-- have no paid amount yet, and a month after the latest pharmacy file loaded
-- has no pharmacy cost yet.
-- ============================================================================

with

member_months as (

    select payer_key, month_start_date, count(*) as member_months
    from {{ ref('fct_member_months') }}
    group by payer_key, month_start_date

),

medical as (

    select
        payer_key,
        cast({{ dbt.date_trunc('month', 'service_date') }} as date) as month_start_date,
        sum(coalesce(paid_amount, 0)) as medical_paid,
        sum(case when claim_status = 'pending' then 1 else 0 end) as medical_lines_pending
    from {{ ref('fct_claims') }}
    group by payer_key, cast({{ dbt.date_trunc('month', 'service_date') }} as date)

),

pharmacy as (

    select payer_key, fill_month as month_start_date, sum(paid_amount) as pharmacy_paid
    from {{ ref('fct_pharmacy_fills') }}
    group by payer_key, fill_month

),

pharmacy_loaded as (

    select max(month_start_date) as latest_fill_month from pharmacy

),

costs as (

    select
        member_months.payer_key,
        member_months.month_start_date,
        member_months.member_months,
        coalesce(medical.medical_paid, 0) as medical_paid,
        coalesce(pharmacy.pharmacy_paid, 0) as pharmacy_paid,
        coalesce(medical.medical_lines_pending, 0) as medical_lines_pending,
        coalesce(member_months.month_start_date > pharmacy_loaded.latest_fill_month, true) as is_after_pharmacy_data
    from member_months
    cross join pharmacy_loaded
    left join medical
        on medical.payer_key = member_months.payer_key
        and medical.month_start_date = member_months.month_start_date
    left join pharmacy
        on pharmacy.payer_key = member_months.payer_key
        and pharmacy.month_start_date = member_months.month_start_date

),

final as (

    select
        ---------- where and when
        payer_key,
        month_start_date,
        {{ date_key('month_start_date') }} as month_start_date_key,

        ---------- denominator
        cast(member_months as {{ dbt.type_int() }}) as member_months,

        ---------- paid amounts
        cast(medical_paid as {{ dbt.type_numeric() }}) as medical_paid,
        cast(pharmacy_paid as {{ dbt.type_numeric() }}) as pharmacy_paid,
        cast(medical_paid + pharmacy_paid as {{ dbt.type_numeric() }}) as total_paid,

        ---------- per member per month
        cast(round(medical_paid / member_months, 2) as {{ dbt.type_numeric() }}) as medical_pmpm,
        cast(round(pharmacy_paid / member_months, 2) as {{ dbt.type_numeric() }}) as pharmacy_pmpm,
        cast(round((medical_paid + pharmacy_paid) / member_months, 2) as {{ dbt.type_numeric() }}) as total_pmpm,

        ---------- completeness
        cast(medical_lines_pending as {{ dbt.type_int() }}) as medical_lines_pending,
        medical_lines_pending > 0 or is_after_pharmacy_data as is_provisional

    from costs

)

select * from final
