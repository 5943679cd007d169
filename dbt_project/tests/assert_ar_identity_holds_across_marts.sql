-- ============================================================================
-- One dollar figure, three roads: outstanding AR on the last day is the same
-- whether summed from fct_transactions, from mart_account_balances
-- (charges - payments - adjustments - write-offs per account) or from
-- mart_ar_aging's buckets on that day. Returns a row when they differ.
-- ============================================================================

{{ config(meta={'dagster': {'ref': {'name': 'mart_account_balances'}}}) }}

with

totals as (

    select
        (select coalesce(sum(ar_amount), 0) from {{ ref('fct_transactions') }}) as from_transactions,
        (select coalesce(sum(charges - payments - adjustments - write_offs), 0)
            from {{ ref('mart_account_balances') }}) as from_accounts,
        (select coalesce(sum(open_balance), 0) from {{ ref('mart_ar_aging') }}
            where as_of_date = (select max(as_of_date) from {{ ref('mart_ar_aging') }})) as from_aging

)

select *
from totals
where from_transactions <> from_accounts
   or from_transactions <> from_aging
