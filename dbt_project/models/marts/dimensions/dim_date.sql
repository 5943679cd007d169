-- ============================================================================
-- dim_date
-- One row per calendar day from the first encounter date in the data through
-- the last one plus one year (planned encounters included), generated with
-- the project's own date_spine macro. date_key = YYYYMMDD as an integer.
-- Deterministic: the range depends on the data only, never on today.
-- ============================================================================

with

encounter_days as (

    select
        min(period_start_date) as first_day,
        max(period_start_date) as last_day
    from {{ ref('cdm_encounters') }}

),

spine as (

    {{ date_spine(
        '(select first_day from encounter_days)',
        '(select ' ~ dbt.dateadd('year', 1, 'last_day') ~ ' from encounter_days)'
    ) }}

),

parts as (

    select
        date_day,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as year_number,
        cast(extract(quarter from date_day) as {{ dbt.type_int() }}) as quarter_number,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month_number,
        cast(extract(day from date_day) as {{ dbt.type_int() }}) as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        {{ day_of_year('date_day') }} as day_of_year
    from spine

),

final as (

    select
        ---------- keys
        {{ date_key('date_day') }} as date_key,
        date_day as calendar_date,

        ---------- year / quarter / month
        year_number,
        quarter_number,
        month_number,
        case month_number
            {%- for label in ['January', 'February', 'March', 'April', 'May', 'June', 'July',
                              'August', 'September', 'October', 'November', 'December'] %}
            when {{ loop.index }} then '{{ label }}'
            {%- endfor %}
        end as month_label,
        {{ dbt.concat([
            dbt.cast('year_number', dbt.type_string()),
            "'-'",
            "case when month_number < 10 then '0' else '' end",
            dbt.cast('month_number', dbt.type_string()),
        ]) }} as year_month,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,

        ---------- week / day
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        iso_day_of_week,
        case iso_day_of_week
            {%- for label in ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] %}
            when {{ loop.index }} then '{{ label }}'
            {%- endfor %}
        end as day_of_week_label,
        day_of_month,
        day_of_year,
        iso_day_of_week in (6, 7) as is_weekend

    from parts

)

select * from final
