{#- ===========================================================================
    date_spine(start_date, end_date): a select of one row per calendar day,
    column `date_day` (date), from start_date through end_date inclusive.
    Both bounds are SQL expressions evaluated at run time (e.g. a scalar
    subquery over the data), unlike dbt.date_spine which needs them at
    compile time. Days are generated from a 10^5 cross join of digits, so the
    span is capped at 100,000 days (~273 years); no engine-specific
    generate_series. Wrap it in a CTE: `spine as ( {{ date_spine(...) }} )`.
=========================================================================== -#}
{% macro date_spine(start_date, end_date) -%}
    {%- set digits -%}
        (select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
         union all select 5 union all select 6 union all select 7 union all select 8 union all select 9)
    {%- endset -%}
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.start_date') }} as date) as date_day
    from (
        select
            ones.digit + 10 * tens.digit + 100 * hundreds.digit
            + 1000 * thousands.digit + 10000 * ten_thousands.digit as day_offset
        from {{ digits }} as ones
        cross join {{ digits }} as tens
        cross join {{ digits }} as hundreds
        cross join {{ digits }} as thousands
        cross join {{ digits }} as ten_thousands
    ) as day_offsets
    cross join (
        select
            cast({{ start_date }} as date) as start_date,
            cast({{ end_date }} as date) as end_date
    ) as bounds
    where day_offsets.day_offset <= {{ dbt.datediff('bounds.start_date', 'bounds.end_date', 'day') }}
{%- endmacro %}
