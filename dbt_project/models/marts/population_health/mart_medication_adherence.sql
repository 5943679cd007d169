-- ============================================================================
-- mart_medication_adherence
-- Proportion of days covered (PDC) per patient, drug class and measurement
-- year, after the PQA adherence measures (PDC-DR diabetes, PDC-RASA RAS
-- antagonists, PDC-STA statins; classes in var adherence_drug_classes).
--   measurement year  a calendar year the pharmacy data covers completely
--                     (its 31 December is on or before the last day of the
--                     latest fill month loaded)
--   denominator       at least two fills of the class on different dates in
--                     the year, the first (index) fill at least 91 days
--                     before the year's end
--   treatment period  index fill date .. 31 December
--   days covered      each fill covers days_supply days from its fill date;
--                     a fill made while earlier supply lasts starts the day
--                     after that supply ends (overlaps shift, never double
--                     count); days after 31 December do not count
--   adherent          days covered / treatment days >= 0.80
-- The shift needs no recursion: with S(n) the running days supply, fill n's
-- supply ends on S(n) + max over k <= n of (fill day(k) - 1 - S(k-1)).
-- ============================================================================

{% set adherence_classes = var('adherence_drug_classes') %}

with

all_fills as (

    select * from {{ ref('fct_pharmacy_fills') }}

),

data_coverage as (

    -- files are monthly: the latest fill month loaded is complete
    select max(fill_month) as latest_fill_month from all_fills

),

class_fills as (

    select
        pharmacy_fill_key,
        patient_durable_key,
        payer_key,
        therapeutic_class,
        fill_date,
        days_supply,
        cast(extract(year from fill_date) as {{ dbt.type_int() }}) as measurement_year,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'fill_date', 'day') }} as fill_day
    from all_fills
    where therapeutic_class in ('{{ adherence_classes | join("', '") }}')
        and patient_durable_key is not null

),

year_ends as (

    select
        class_fills.*,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', 'fill_date'))) }} as date) as year_end_date
    from class_fills

),

measured_fills as (

    select
        year_ends.*,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'year_end_date', 'day') }} as year_end_day
    from year_ends
    cross join data_coverage
    where year_ends.year_end_date
        <= cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'data_coverage.latest_fill_month')) }} as date)

),

running_supply as (

    select
        measured_fills.*,
        coalesce(sum(days_supply) over (
            partition by patient_durable_key, therapeutic_class, measurement_year
            order by fill_date, pharmacy_fill_key
            rows between unbounded preceding and 1 preceding
        ), 0) as supply_before,
        row_number() over (
            partition by patient_durable_key, therapeutic_class, measurement_year
            order by fill_date, pharmacy_fill_key
        ) as fill_order
    from measured_fills

),

shifted_fills as (

    select
        running_supply.*,
        supply_before + days_supply + max(fill_day - 1 - supply_before) over (
            partition by patient_durable_key, therapeutic_class, measurement_year
            order by fill_date, pharmacy_fill_key
            rows between unbounded preceding and current row
        ) as supply_end_day
    from running_supply

),

covered_fills as (

    select
        shifted_fills.*,
        greatest(0, least(supply_end_day, year_end_day) - (supply_end_day - days_supply + 1) + 1) as days_covered_in_year
    from shifted_fills

),

patient_class_years as (

    select
        patient_durable_key,
        therapeutic_class,
        measurement_year,
        min(fill_date) as index_fill_date,
        max(case when fill_order = 1 then payer_key end) as payer_key,
        min(fill_day) as index_day,
        max(year_end_day) as year_end_day,
        max(year_end_date) as treatment_period_end_date,
        count(*) as fills,
        count(distinct fill_date) as fill_dates,
        sum(days_supply) as days_supplied,
        sum(days_covered_in_year) as days_covered
    from covered_fills
    group by patient_durable_key, therapeutic_class, measurement_year

),

eligible as (

    select
        patient_class_years.*,
        year_end_day - index_day + 1 as treatment_days
    from patient_class_years
    where fill_dates >= 2
        and year_end_day - index_day + 1 >= 91

),

final as (

    select
        ---------- keys
        patient_durable_key,
        payer_key,

        ---------- measure scope
        therapeutic_class,
        measurement_year,
        index_fill_date,
        treatment_period_end_date,

        ---------- measures
        cast(treatment_days as {{ dbt.type_int() }}) as treatment_days,
        cast(fills as {{ dbt.type_int() }}) as fills,
        cast(days_supplied as {{ dbt.type_int() }}) as days_supplied,
        cast(days_covered as {{ dbt.type_int() }}) as days_covered,
        cast(round(cast(days_covered as {{ dbt.type_numeric() }}) / treatment_days, 4) as {{ dbt.type_numeric() }}) as pdc,
        days_covered >= 0.8 * treatment_days as is_adherent

    from eligible

)

select * from final
