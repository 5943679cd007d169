-- ============================================================================
-- mart_collection_rate_by_aging_bucket
-- Grain: payer x aging bucket. Of the net collectible dollars of mature
-- charges (charge - contractual adjustments; service at least 120 days
-- before the last posting day, so every bucket has had time to fill), the
-- share collected by payments posted while the charge was in that bucket
-- (days from service to payment), and the cumulative share up to it.
-- A healthy commercial payer collects ~90%+ within 30 days.
-- ============================================================================

with

transactions as (

    -- only what this model reads: the CTE is read three times, so Postgres materializes it
    select charge_key, payer_key, transaction_type, amount, service_date, posting_date, days_from_service_to_posting
    from {{ ref('fct_transactions') }}

),

last_day as (

    select max(posting_date) as last_posting_date from transactions

),

mature_charges as (

    select charge_key
    from transactions
    cross join last_day
    where transaction_type = 'CHARGE'
        and service_date <= cast({{ dbt.dateadd('day', -120, 'last_day.last_posting_date') }} as date)

),

cohort as (

    select transactions.*
    from transactions
    inner join mature_charges
        on mature_charges.charge_key = transactions.charge_key

),

collectible as (

    select
        payer_key,
        sum(case when transaction_type = 'CHARGE' then amount else 0 end)
            - sum(case when transaction_type = 'ADJUSTMENT' then amount else 0 end) as net_collectible,
        count(distinct charge_key) as charge_lines
    from cohort
    group by payer_key

),

buckets as (

    select aging_bucket, bucket_order, min_age_days, max_age_days from {{ ref('ar_aging_buckets') }}

),

collected as (

    select
        cohort.payer_key,
        buckets.aging_bucket,
        sum(cohort.amount) as collected
    from cohort
    inner join buckets
        on cohort.days_from_service_to_posting >= buckets.min_age_days
        and (buckets.max_age_days is null or cohort.days_from_service_to_posting <= buckets.max_age_days)
    where cohort.transaction_type = 'PAYMENT'
    group by cohort.payer_key, buckets.aging_bucket

),

final as (

    select
        collectible.payer_key,
        buckets.aging_bucket,
        cast(buckets.bucket_order as {{ dbt.type_int() }}) as bucket_order,
        cast(collectible.charge_lines as {{ dbt.type_int() }}) as mature_charge_lines,
        cast(collectible.net_collectible as {{ dbt.type_numeric() }}) as net_collectible,
        cast(coalesce(collected.collected, 0) as {{ dbt.type_numeric() }}) as collected_in_bucket,
        cast(round(coalesce(collected.collected, 0) / nullif(collectible.net_collectible, 0), 4) as {{ dbt.type_numeric() }}) as collection_rate,
        cast(round(sum(coalesce(collected.collected, 0)) over (
            partition by collectible.payer_key
            order by buckets.bucket_order
            rows between unbounded preceding and current row
        ) / nullif(collectible.net_collectible, 0), 4) as {{ dbt.type_numeric() }}) as cumulative_collection_rate
    from collectible
    cross join buckets
    left join collected
        on collected.payer_key = collectible.payer_key
        and collected.aging_bucket = buckets.aging_bucket

)

select * from final
