-- ============================================================================
-- mart_ar_aging computes every day at once from start/stop events; this test
-- recomputes a few as-of days (each quarter end and the last day) the slow,
-- obvious way: per charge, the sum of ar_amount posted on or before the day,
-- in the bucket of (day - service date). Returns the rows that disagree.
-- ============================================================================

{{ config(meta={'dagster': {'ref': {'name': 'mart_ar_aging'}}}) }}

with

transactions as (

    select charge_key, payer_key, service_date, posting_date, ar_amount from {{ ref('fct_transactions') }}

),

as_of_days as (

    select distinct as_of_date from {{ ref('mart_ar_aging') }}
    where extract(month from {{ dbt.dateadd('day', 1, 'as_of_date') }}) in (1, 4, 7, 10)
        and extract(day from {{ dbt.dateadd('day', 1, 'as_of_date') }}) = 1
    union
    select max(as_of_date) from {{ ref('mart_ar_aging') }}

),

charge_balances as (

    select
        as_of_days.as_of_date,
        transactions.charge_key,
        transactions.payer_key,
        min(transactions.service_date) as service_date,
        sum(transactions.ar_amount) as balance
    from as_of_days
    inner join transactions
        on transactions.posting_date <= as_of_days.as_of_date
    group by as_of_days.as_of_date, transactions.charge_key, transactions.payer_key

),

direct as (

    select
        charge_balances.as_of_date,
        charge_balances.payer_key,
        buckets.aging_bucket,
        sum(charge_balances.balance) as open_balance
    from charge_balances
    inner join {{ ref('ar_aging_buckets') }} as buckets
        on {{ dbt.datediff('charge_balances.service_date', 'charge_balances.as_of_date', 'day') }} >= buckets.min_age_days
        and ({{ dbt.datediff('charge_balances.service_date', 'charge_balances.as_of_date', 'day') }} <= buckets.max_age_days
            or buckets.max_age_days is null)
    group by charge_balances.as_of_date, charge_balances.payer_key, buckets.aging_bucket

),

mart as (

    select aging.as_of_date, aging.payer_key, aging.aging_bucket, aging.open_balance
    from {{ ref('mart_ar_aging') }} as aging
    inner join as_of_days
        on as_of_days.as_of_date = aging.as_of_date

)

select
    coalesce(mart.as_of_date, direct.as_of_date) as as_of_date,
    coalesce(mart.payer_key, direct.payer_key) as payer_key,
    coalesce(mart.aging_bucket, direct.aging_bucket) as aging_bucket,
    mart.open_balance as mart_balance,
    direct.open_balance as direct_balance
from mart
full outer join direct
    on direct.as_of_date = mart.as_of_date
    and direct.payer_key = mart.payer_key
    and direct.aging_bucket = mart.aging_bucket
where coalesce(mart.open_balance, 0) <> coalesce(direct.open_balance, 0)
