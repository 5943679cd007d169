-- ============================================================================
-- mart_prescribing_patterns
-- What each prescriber prescribes. Grain: prescriber_npi x therapeutic_class
-- x fill_month, over the paid fills of gold.fct_pharmacy_fills. The NPI is
-- the public provider identifier; provider_durable_key is the EHR
-- practitioner with that NPI (null when the EHR does not know it).
--   thirty_day_equivalents  days supply / 30 (a 90-day fill counts 3)
--   share_of_prescriber_fills  this class's fills / all the prescriber's
--                              fills in the month
-- ============================================================================

with

fills as (

    select
        prescriber_npi,
        prescriber_provider_durable_key,
        therapeutic_class,
        fill_month,
        patient_durable_key,
        days_supply,
        paid_amount
    from {{ ref('fct_pharmacy_fills') }}

),

by_class as (

    select
        prescriber_npi,
        max(prescriber_provider_durable_key) as provider_durable_key,
        therapeutic_class,
        fill_month,
        count(*) as fills,
        count(distinct patient_durable_key) as patients,
        sum(days_supply) as days_supplied,
        sum(paid_amount) as paid_amount
    from fills
    group by prescriber_npi, therapeutic_class, fill_month

),

with_share as (

    select
        by_class.*,
        sum(fills) over (partition by prescriber_npi, fill_month) as prescriber_fills
    from by_class

),

final as (

    select
        ---------- who, what, when
        prescriber_npi,
        provider_durable_key,
        therapeutic_class,
        fill_month,

        ---------- measures
        cast(fills as {{ dbt.type_int() }}) as fills,
        cast(patients as {{ dbt.type_int() }}) as patients,
        cast(days_supplied as {{ dbt.type_int() }}) as days_supplied,
        cast(round(cast(days_supplied as {{ dbt.type_numeric() }}) / 30, 2) as {{ dbt.type_numeric() }}) as thirty_day_equivalents,
        cast(paid_amount as {{ dbt.type_numeric() }}) as paid_amount,
        cast(round(paid_amount * 30 / days_supplied, 2) as {{ dbt.type_numeric() }}) as paid_per_thirty_day_equivalent,
        cast(round(cast(fills as {{ dbt.type_numeric() }}) / prescriber_fills, 4) as {{ dbt.type_numeric() }}) as share_of_prescriber_fills

    from with_share

)

select * from final
