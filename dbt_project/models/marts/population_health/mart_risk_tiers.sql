-- ============================================================================
-- mart_risk_tiers
-- Risk stratification, one row per patient and month the patient is a member
-- of a payer (gold.fct_member_months). Three components, each worth 0-2
-- points, as of the month's end:
--   chronic conditions  condition groups diagnosed on or before the month's
--                       end (gold.mart_patient_chronic_conditions):
--                       0-1 -> 0, 2-3 -> 1, 4+ -> 2
--   utilisation         inpatient admissions and emergency visits (EHR
--                       encounters of class IMP or EMER) in the trailing 12
--                       months (this month and the 11 before):
--                       0 -> 0, 1 -> 1, 2+ -> 2
--   cost                paid in the trailing 12 months, medical (fct_claims
--                       by service month, any payer) plus pharmacy
--                       (fct_pharmacy_fills by fill month):
--                       < $1,000 -> 0, < $5,000 -> 1, else 2
-- risk_score is the sum (0-6); risk_tier: 0-1 low, 2-3 rising, 4-6 high.
-- Months early in the data have shorter look-backs (nothing before the
-- first loaded month is known).
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key=['patient_durable_key', 'month_start_date']) }}

{% set cost_thresholds = [1000, 5000] %}

with

patient_months as (

    select
        patient_durable_key,
        month_start_date,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start_date')) }} as date) as month_end_date,
        cast({{ dbt.dateadd('month', -11, 'month_start_date') }} as date) as window_start_date
    from {{ ref('fct_member_months') }}
    where patient_durable_key is not null
    group by patient_durable_key, month_start_date

),

conditions as (

    select patient_durable_key, first_diagnosis_date
    from {{ ref('mart_patient_chronic_conditions') }}
    where first_diagnosis_date is not null

),

condition_counts as (

    select
        patient_months.patient_durable_key,
        patient_months.month_start_date,
        count(conditions.first_diagnosis_date) as chronic_conditions
    from patient_months
    left join conditions
        on conditions.patient_durable_key = patient_months.patient_durable_key
        and conditions.first_diagnosis_date <= patient_months.month_end_date
    group by patient_months.patient_durable_key, patient_months.month_start_date

),

monthly_activity as (

    select
        patient_durable_key,
        cast({{ dbt.date_trunc('month', 'encounter_date') }} as date) as activity_month,
        1 as acute_encounters,
        0 as medical_paid,
        0 as pharmacy_paid
    from {{ ref('fct_encounters') }}
    where is_acute_care  -- the encounter_classes seed: emergency and acute inpatient care

    union all

    select
        patient_durable_key,
        cast({{ dbt.date_trunc('month', 'service_date') }} as date),
        0,
        coalesce(paid_amount, 0),
        0
    from {{ ref('fct_claims') }}
    where patient_durable_key is not null

    union all

    select patient_durable_key, fill_month, 0, 0, paid_amount
    from {{ ref('fct_pharmacy_fills') }}
    where patient_durable_key is not null

),

monthly_totals as (

    select
        patient_durable_key,
        activity_month,
        sum(acute_encounters) as acute_encounters,
        sum(medical_paid) as medical_paid,
        sum(pharmacy_paid) as pharmacy_paid
    from monthly_activity
    group by patient_durable_key, activity_month

),

trailing_totals as (

    select
        patient_months.patient_durable_key,
        patient_months.month_start_date,
        coalesce(sum(monthly_totals.acute_encounters), 0) as acute_encounters_12m,
        coalesce(sum(monthly_totals.medical_paid), 0) as medical_paid_12m,
        coalesce(sum(monthly_totals.pharmacy_paid), 0) as pharmacy_paid_12m
    from patient_months
    left join monthly_totals
        on monthly_totals.patient_durable_key = patient_months.patient_durable_key
        and monthly_totals.activity_month between patient_months.window_start_date and patient_months.month_start_date
    group by patient_months.patient_durable_key, patient_months.month_start_date

),

scored as (

    select
        trailing_totals.*,
        condition_counts.chronic_conditions,
        case
            when condition_counts.chronic_conditions >= 4 then 2
            when condition_counts.chronic_conditions >= 2 then 1
            else 0
        end as condition_points,
        case
            when trailing_totals.acute_encounters_12m >= 2 then 2
            when trailing_totals.acute_encounters_12m = 1 then 1
            else 0
        end as utilisation_points,
        case
            when trailing_totals.medical_paid_12m + trailing_totals.pharmacy_paid_12m >= {{ cost_thresholds[1] }} then 2
            when trailing_totals.medical_paid_12m + trailing_totals.pharmacy_paid_12m >= {{ cost_thresholds[0] }} then 1
            else 0
        end as cost_points
    from trailing_totals
    inner join condition_counts
        on condition_counts.patient_durable_key = trailing_totals.patient_durable_key
        and condition_counts.month_start_date = trailing_totals.month_start_date

),

final as (

    select
        ---------- who and when
        patient_durable_key,
        month_start_date,
        {{ date_key('month_start_date') }} as month_start_date_key,

        ---------- components
        cast(chronic_conditions as {{ dbt.type_int() }}) as chronic_conditions,
        cast(acute_encounters_12m as {{ dbt.type_int() }}) as acute_encounters_12m,
        cast(medical_paid_12m as {{ dbt.type_numeric() }}) as medical_paid_12m,
        cast(pharmacy_paid_12m as {{ dbt.type_numeric() }}) as pharmacy_paid_12m,
        cast(condition_points as {{ dbt.type_int() }}) as condition_points,
        cast(utilisation_points as {{ dbt.type_int() }}) as utilisation_points,
        cast(cost_points as {{ dbt.type_int() }}) as cost_points,

        ---------- tier
        cast(condition_points + utilisation_points + cost_points as {{ dbt.type_int() }}) as risk_score,
        case
            when condition_points + utilisation_points + cost_points >= 4 then 'high'
            when condition_points + utilisation_points + cost_points >= 2 then 'rising'
            else 'low'
        end as risk_tier

    from scored

)

select * from final
