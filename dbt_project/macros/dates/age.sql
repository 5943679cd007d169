{#- ===========================================================================
    age_in_years(birth_date, as_of_date): completed years of life on
    as_of_date (a birthday counts from that day on; 29 February birthdays
    count from 1 March in non-leap years). Both arguments are dates.
    Null when either is null.

    age_band(age_expr): the carehouse age band of an age in years, one of
    age_band_labels(); 'unknown' for a null or negative age. Gold only ever
    shows the band, never the birth date.
=========================================================================== -#}
{% macro age_in_years(birth_date, as_of_date) -%}
    cast(
        {{ dbt.datediff(birth_date, as_of_date, 'year') }}
        - case
            when extract(month from {{ as_of_date }}) * 100 + extract(day from {{ as_of_date }})
               < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    as {{ dbt.type_int() }})
{%- endmacro %}

{#- (label, lowest age, highest age or none) -- ordered, gap-free, from 0 -#}
{% macro age_bands() -%}
    {{ return([
        ('0-17', 0, 17),
        ('18-30', 18, 30),
        ('31-50', 31, 50),
        ('51-70', 51, 70),
        ('71+', 71, none),
    ]) }}
{%- endmacro %}

{% macro age_band_labels() -%}
    {%- set labels = [] -%}
    {%- for band in carehouse.age_bands() -%}
        {%- do labels.append(band[0]) -%}
    {%- endfor -%}
    {%- do labels.append('unknown') -%}
    {{ return(labels) }}
{%- endmacro %}

{% macro age_band(age_expr) -%}
    (case
        when ({{ age_expr }}) is null or ({{ age_expr }}) < 0 then 'unknown'
        {%- for label, low, high in carehouse.age_bands() %}
        {%- if high is none %}
        else '{{ label }}'
        {%- else %}
        when ({{ age_expr }}) <= {{ high }} then '{{ label }}'
        {%- endif %}
        {%- endfor %}
    end)
{%- endmacro %}
