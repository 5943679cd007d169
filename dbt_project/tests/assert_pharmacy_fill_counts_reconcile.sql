-- ============================================================================
-- Nothing is lost silently (pharmacy fills):
--   count(bronze) = count(stg) = count(quarantine) + count(usable stg rows)
-- and every usable paid fill of a current file (one per payer and
-- rx_claim_id) is either in int_pharmacy_fills_current or cancelled by a
-- reversal of a current file. Returns one row (with the numbers) when the
-- books do not balance.
-- ============================================================================

{{ config(meta={'dagster': {'ref': {'name': 'int_pharmacy_fills_current'}}}) }}

with

staged as (

    select * from {{ ref('stg_pharmacy__fills') }}

),

current_paid as (

    select distinct payer_code, rx_claim_id
    from staged
    where quarantine_reason is null
        and not is_superseded
        and claim_status = 'paid'
        and rx_claim_id is not null

),

current_reversed as (

    select distinct payer_code, rx_claim_id
    from staged
    where not is_superseded
        and claim_status = 'reversed'

),

counts as (

    select
        (select count(*) from {{ source('pharmacy', 'pharmacy__fills') }}) as bronze_rows,
        (select count(*) from staged) as staged_rows,
        (select count(*) from {{ ref('quarantine_pharmacy__fills') }}) as quarantined_rows,
        (select count(*) from staged where quarantine_reason is null) as usable_rows,
        (select count(*) from current_paid) as current_paid_fills,
        (
            select count(*)
            from current_paid
            inner join current_reversed
                on current_reversed.payer_code = current_paid.payer_code
                and current_reversed.rx_claim_id = current_paid.rx_claim_id
        ) as reversed_fills,
        (select count(*) from {{ ref('int_pharmacy_fills_current') }}) as current_fills

)

select *
from counts
where bronze_rows <> staged_rows
   or staged_rows <> quarantined_rows + usable_rows
   or current_paid_fills <> current_fills + reversed_fills
