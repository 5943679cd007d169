-- ============================================================================
-- mart_days_in_ar_by_month
-- Grain: calendar month (the last month ends on the last posting day).
-- Days in AR = AR outstanding at month end / average daily gross charges of
-- the 90 days ending that day (HFMA's definition with a three-month
-- window): how many days of charges are still uncollected.
-- ============================================================================

{% set window_days = 90 %}

with

aging as (

    select as_of_date, sum(open_balance) as ar_outstanding
    from {{ ref('mart_ar_aging') }}
    group by as_of_date

),

month_ends as (

    select max(as_of_date) as as_of_date
    from aging
    group by {{ dbt.date_trunc('month', 'as_of_date') }}

),

charges as (

    select posting_date, amount from {{ ref('fct_transactions') }}
    where transaction_type = 'CHARGE'

),

window_charges as (

    select
        month_ends.as_of_date,
        coalesce(sum(charges.amount), 0) as gross_charges_in_window
    from month_ends
    left join charges
        on charges.posting_date <= month_ends.as_of_date
        and charges.posting_date > cast({{ dbt.dateadd('day', -window_days, 'month_ends.as_of_date') }} as date)
    group by month_ends.as_of_date

),

final as (

    select
        cast({{ dbt.date_trunc('month', 'month_ends.as_of_date') }} as date) as month_start_date,
        month_ends.as_of_date as month_end_date,
        {{ date_key('month_ends.as_of_date') }} as month_end_date_key,
        cast(aging.ar_outstanding as {{ dbt.type_numeric() }}) as ar_outstanding,
        cast(window_charges.gross_charges_in_window as {{ dbt.type_numeric() }}) as gross_charges_last_{{ window_days }}_days,
        cast(window_charges.gross_charges_in_window / {{ window_days }} as {{ dbt.type_numeric() }}) as average_daily_charges,
        cast(round(
            aging.ar_outstanding / nullif(window_charges.gross_charges_in_window / {{ window_days }}, 0), 1
        ) as {{ dbt.type_numeric() }}) as days_in_ar
    from month_ends
    inner join aging
        on aging.as_of_date = month_ends.as_of_date
    inner join window_charges
        on window_charges.as_of_date = month_ends.as_of_date

)

select * from final
