-- ============================================================================
-- mart_net_collection_rate_by_month
-- Grain: service month x payer. Net collection rate (MGMA) = payments /
-- (charges - contractual adjustments), on the charges of the service month
-- (a cohort, so late payments count toward the month they pay for). Recent
-- months are still being collected: compare months at the same maturity.
-- ============================================================================

with

transactions as (

    select * from {{ ref('fct_transactions') }}

),

final as (

    select
        cast({{ dbt.date_trunc('month', 'service_date') }} as date) as service_month,
        payer_key,
        cast(sum(case when transaction_type = 'CHARGE' then amount else 0 end) as {{ dbt.type_numeric() }}) as charges,
        cast(sum(case when transaction_type = 'ADJUSTMENT' then amount else 0 end) as {{ dbt.type_numeric() }}) as contractual_adjustments,
        cast(sum(case when transaction_type = 'PAYMENT' then amount else 0 end) as {{ dbt.type_numeric() }}) as payments,
        cast(sum(case when transaction_type = 'WRITE_OFF' then amount else 0 end) as {{ dbt.type_numeric() }}) as write_offs,
        cast(round(
            sum(case when transaction_type = 'PAYMENT' then amount else 0 end)
            / nullif(
                sum(case when transaction_type = 'CHARGE' then amount else 0 end)
                - sum(case when transaction_type = 'ADJUSTMENT' then amount else 0 end), 0),
            4) as {{ dbt.type_numeric() }}) as net_collection_rate
    from transactions
    group by {{ dbt.date_trunc('month', 'service_date') }}, payer_key

)

select * from final
