{#- ===========================================================================
    sample_rate_in_force(): a one-row select of the chart-review sample rate in
    force (sample_rate_pct) and the id of the change that set it
    (sample_rate_change_id; null while the default 10 was never changed), read
    from the change log the orchestrator writes (warehouse/sample_rate.py).
    There is no dbt var: a rate given to one build only would not be recorded
    and the next run would silently go back to the stored rate.
=========================================================================== -#}
{% macro sample_rate_in_force() -%}
    {%- if var('sample_rate_pct', none) is not none -%}
        {{ exceptions.raise_compiler_error(
            "the chart-review sample rate is stored in the warehouse, not a dbt var: set it with "
            ~ "`carehouse run --sample-rate N` (or the Dagster run config of "
            ~ "bronze/carehouse__sample_rate_changes)"
        ) }}
    {%- endif -%}
    select
        cast(max(change_id) as {{ dbt.type_bigint() }}) as sample_rate_change_id,
        -- 10 = warehouse.sampling.DEFAULT_SAMPLE_RATE_PCT, in force until the first change
        cast(coalesce(max(new_rate_pct), 10) as {{ dbt.type_int() }}) as sample_rate_pct
    from {{ source('carehouse', 'carehouse__sample_rate_changes') }}
    where change_id = (select max(change_id) from {{ source('carehouse', 'carehouse__sample_rate_changes') }})
{%- endmacro %}

{% macro sampling_method() -%}
    md5(sample_key) mod 100 < sample_rate_pct
{%- endmacro %}
