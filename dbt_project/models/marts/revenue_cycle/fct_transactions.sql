-- ============================================================================
-- fct_transactions
-- Grain: one posted billing transaction (charge, payment, contractual
-- adjustment or write-off) of either billing system. ar_amount is its signed
-- effect on accounts receivable, so sum(ar_amount) is outstanding AR for any
-- slice (account, payer, department, posting date <= as-of day, ...).
-- patient_key / provider_key are the dimension versions valid on the service
-- date; the *_durable_key columns identify the person across versions.
-- ============================================================================

-- incremental 'diff' (macros/incremental/diff_strategy.sql): computed whole, only changed rows written
{{ config(materialized='incremental', unique_key='transaction_key') }}

with

transactions as (

    select * from {{ ref('cdm_transactions') }}

),

patient_versions as (

    select patient_key, patient_durable_key, valid_from, valid_to from {{ ref('dim_patient') }}

),

provider_versions as (

    select provider_key, provider_durable_key, valid_from, valid_to from {{ ref('dim_provider') }}

),

final as (

    select
        ---------- keys
        transactions.transaction_key,
        transactions.charge_key,
        transactions.account_key,
        patient_versions.patient_key,
        transactions.patient_key as patient_durable_key,
        transactions.encounter_key,
        provider_versions.provider_key,
        transactions.practitioner_key as provider_durable_key,
        transactions.department_key,
        transactions.payer_key,
        transactions.procedure_key,
        {{ date_key('transactions.service_date') }} as service_date_key,
        {{ date_key('transactions.posting_date') }} as posting_date_key,

        ---------- attributes
        transactions.source_system,
        transactions.transaction_type,
        transactions.payment_source,
        transactions.charge_line_number,
        transactions.service_date,
        transactions.posting_date,
        cast({{ dbt.datediff('transactions.service_date', 'transactions.posting_date', 'day') }} as {{ dbt.type_int() }}) as days_from_service_to_posting,

        ---------- amounts
        transactions.amount,
        transactions.ar_amount

    from transactions
    left join patient_versions
        on patient_versions.patient_durable_key = transactions.patient_key
        and cast(transactions.service_date as {{ dbt.type_timestamp() }}) >= patient_versions.valid_from
        and cast(transactions.service_date as {{ dbt.type_timestamp() }}) < patient_versions.valid_to
    left join provider_versions
        on provider_versions.provider_durable_key = transactions.practitioner_key
        and cast(transactions.service_date as {{ dbt.type_timestamp() }}) >= provider_versions.valid_from
        and cast(transactions.service_date as {{ dbt.type_timestamp() }}) < provider_versions.valid_to

)

select * from final
