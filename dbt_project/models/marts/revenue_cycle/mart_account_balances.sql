-- ============================================================================
-- mart_account_balances
-- Grain: one patient account of a billing system. The dollar identity every
-- figure of the revenue cycle rests on:
--   outstanding_ar = charges - payments - adjustments - write_offs
-- (tested against a Python calculation from the landing files).
-- ============================================================================

with

transactions as (

    select * from {{ ref('fct_transactions') }}

),

final as (

    select
        account_key,
        min(patient_durable_key) as patient_durable_key,
        min(source_system) as source_system,

        cast(sum(case when transaction_type = 'CHARGE' then amount else 0 end) as {{ dbt.type_numeric() }}) as charges,
        cast(sum(case when transaction_type = 'PAYMENT' then amount else 0 end) as {{ dbt.type_numeric() }}) as payments,
        cast(sum(case when transaction_type = 'ADJUSTMENT' then amount else 0 end) as {{ dbt.type_numeric() }}) as adjustments,
        cast(sum(case when transaction_type = 'WRITE_OFF' then amount else 0 end) as {{ dbt.type_numeric() }}) as write_offs,
        cast(sum(ar_amount) as {{ dbt.type_numeric() }}) as outstanding_ar,

        cast(count(distinct case when transaction_type = 'CHARGE' then charge_key end) as {{ dbt.type_int() }}) as charge_lines,
        min(service_date) as first_service_date,
        max(posting_date) as last_posting_date

    from transactions
    group by account_key

)

select * from final
