-- ============================================================================
-- fct_claims
-- Grain: one claim line as one payer adjudicated it (payer + claim + line),
-- after the superseding rule, in its latest state. A line appears in the
-- file of every month it was pending or adjudicated in; first_* columns keep
-- the first adjudication (what denial and clean-claim rates measure),
-- claim_status and the amounts the latest. Keys to the patient, provider and
-- encounter come from the billing charge the line claims.
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='claim_line_key') }}

with

claim_lines as (

    select * from {{ ref('int_claim_lines_current') }}

),

ordered as (

    select
        claim_lines.*,
        row_number() over (partition by claim_line_key order by claim_month desc) as recency_rank,
        row_number() over (
            partition by claim_line_key
            order by case when claim_status = 'pending' then 1 else 0 end, claim_month
        ) as adjudication_rank,
        count(*) over (partition by claim_line_key) as monthly_rows,
        sum(case when claim_status <> 'pending' then 1 else 0 end) over (partition by claim_line_key) as adjudications
    from claim_lines

),

first_adjudication as (

    select
        claim_line_key,
        case when claim_status <> 'pending' then claim_status end as first_claim_status,
        case when claim_status <> 'pending' then claim_month end as first_adjudicated_month,
        case when claim_status = 'denied' then denial_reason_code end as first_denial_reason_code
    from ordered
    where adjudication_rank = 1

),

latest as (

    select * from ordered
    where recency_rank = 1

),

charges as (

    select charge_key, patient_key, encounter_key, practitioner_key, department_key, service_date
    from {{ ref('cdm_transactions') }}
    where transaction_type = 'CHARGE'

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to from {{ ref('dim_patient') }}

),

final as (

    select
        ---------- keys
        latest.claim_line_key,
        latest.claim_key,
        latest.payer_key,
        latest.charge_key,
        latest.account_key,
        patient_versions.patient_key,
        charges.patient_key as patient_durable_key,
        charges.encounter_key,
        charges.practitioner_key as provider_durable_key,
        charges.department_key,
        {{ date_key('latest.service_date') }} as service_date_key,
        {{ date_key('latest.submitted_date') }} as submitted_date_key,
        {{ date_key('latest.paid_date') }} as paid_date_key,
        {{ optional_surrogate_key('first_adjudication.first_denial_reason_code', ['first_adjudication.first_denial_reason_code']) }} as first_denial_reason_key,

        ---------- attributes
        latest.billing_system as source_system,
        latest.claim_line,
        latest.claim_status,
        latest.denial_reason_code,
        latest.plan_type,
        first_adjudication.first_claim_status,
        first_adjudication.first_denial_reason_code,
        first_adjudication.first_adjudicated_month,
        latest.claim_month as latest_claim_month,
        latest.service_date,
        latest.submitted_date,
        latest.paid_date,
        cast(latest.adjudications as {{ dbt.type_int() }}) as adjudications,
        cast(latest.monthly_rows as {{ dbt.type_int() }}) as monthly_rows,
        coalesce(first_adjudication.first_claim_status = 'paid', false) as is_clean_line,
        coalesce(first_adjudication.first_claim_status = 'denied', false) as is_initially_denied,

        ---------- amounts (latest state)
        latest.billed_amount,
        latest.allowed_amount,
        latest.paid_amount

    from latest
    left join first_adjudication
        on first_adjudication.claim_line_key = latest.claim_line_key
    left join charges
        on charges.charge_key = latest.charge_key
    left join patient_versions
        on patient_versions.patient_durable_key = charges.patient_key
        and cast(charges.service_date as {{ dbt.type_timestamp() }}) >= patient_versions.valid_from
        and cast(charges.service_date as {{ dbt.type_timestamp() }}) < patient_versions.valid_to

)

select * from final
