-- ============================================================================
-- mart_ar_aging
-- Grain: as-of day x payer x aging bucket, for every day from the first
-- posting to the last. open_balance is what was still owed on that day
-- (transactions posted on or before it) for charges whose age (as-of day -
-- service date) falls in the bucket (seed ar_aging_buckets: 0-30, 31-60,
-- 61-90, 91-120, 120+). Query any date: where as_of_date = '2025-03-31'.
--
-- How, without a row per charge per day: a transaction posted on day d
-- moves its charge's balance from d on, and on as-of day D that balance sits
-- in the bucket containing D - service_date. So each transaction adds its
-- ar_amount to a bucket from max(d, service + bucket min) to service + bucket
-- max; running sums of those start/stop events give every day at once.
-- ============================================================================

with

transactions as (

    -- one row per payer, service day and posting day (~4x fewer rows than transactions): each
    -- row is crossed with every bucket below, and numeric sums are exact in any grouping
    select payer_key, service_date, posting_date, sum(ar_amount) as ar_amount
    from {{ ref('fct_transactions') }}
    group by payer_key, service_date, posting_date

),

buckets as (

    select aging_bucket, bucket_order, min_age_days, max_age_days from {{ ref('ar_aging_buckets') }}

),

intervals as (

    select
        transactions.payer_key,
        buckets.aging_bucket,
        transactions.ar_amount,
        greatest(
            transactions.posting_date,
            cast({{ dbt.dateadd('day', 'buckets.min_age_days', 'transactions.service_date') }} as date)
        ) as counts_from,
        case when buckets.max_age_days is not null
            then cast({{ dbt.dateadd('day', 'buckets.max_age_days + 1', 'transactions.service_date') }} as date)
        end as counts_until
    from transactions
    cross join buckets

),

events as (

    select payer_key, aging_bucket, counts_from as event_date, ar_amount as balance_change
    from intervals
    where counts_until is null or counts_from < counts_until

    union all

    select payer_key, aging_bucket, counts_until as event_date, -ar_amount as balance_change
    from intervals
    where counts_until is not null and counts_from < counts_until

),

daily_changes as (

    select payer_key, aging_bucket, event_date, sum(balance_change) as balance_change
    from events
    group by payer_key, aging_bucket, event_date

),

days as (

    {{ date_spine(
        '(select min(posting_date) from ' ~ ref('fct_transactions') ~ ')',
        '(select max(posting_date) from ' ~ ref('fct_transactions') ~ ')'
    ) }}

),

grid as (

    select days.date_day as as_of_date, payers.payer_key, buckets.aging_bucket, buckets.bucket_order
    from days
    cross join (select distinct payer_key from transactions) as payers
    cross join buckets

),

final as (

    select
        {{ date_key('grid.as_of_date') }} as as_of_date_key,
        grid.as_of_date,
        grid.payer_key,
        grid.aging_bucket,
        cast(grid.bucket_order as {{ dbt.type_int() }}) as bucket_order,
        cast(round(sum(coalesce(daily_changes.balance_change, 0)) over (
            partition by grid.payer_key, grid.aging_bucket
            order by grid.as_of_date
            rows between unbounded preceding and current row
        ), 2) as {{ dbt.type_numeric() }}) as open_balance
    from grid
    left join daily_changes
        on daily_changes.payer_key = grid.payer_key
        and daily_changes.aging_bucket = grid.aging_bucket
        and daily_changes.event_date = grid.as_of_date

)

select * from final
