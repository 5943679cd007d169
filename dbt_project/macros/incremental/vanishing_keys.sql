{#- ===========================================================================
    Incremental models whose keys can disappear, or whose watermark must be
    read before a pre-hook changes the table (helper F's non-EHR chains:
    current claim lines, fills, member months, transactions, ADT stays). On
    top of incremental_loads.sql; int_*_deduplicated use touched_keys.sql.

    watermark_value(): the greatest load id this model holds (-1 when empty),
        read once when the model compiles, i.e. BEFORE its pre-hook runs (the
        hook deletes rows, maybe the ones that hold it).
    new_since_watermark(column): a boolean for a WHERE: on an incremental
        build, rows (of an upstream silver model) of loads newer than
        watermark_value(); `true` on a full build (and in a unit test).
    touched_keys(relation, key_columns): a subquery, the distinct non-null
        key_columns of the rows of `relation` (an upstream silver model) of
        loads newer than watermark_value().
    delete_touched_keys(key_columns, touched_sql): the pre-hook of a model
        whose keys can disappear (a re-sent file drops a claim line, a
        reversal cancels a fill): on an incremental build, delete the rows of
        the keys touched_sql returns; the build (delete+insert on the same
        keys) then inserts what the full history of those keys gives now,
        which may be nothing. Nothing on a full build.
=========================================================================== -#}
{% macro watermark_value() -%}
    {%- if execute and carehouse.incremental_build() -%}
        {%- set result = run_query('select ' ~ carehouse.load_watermark(this)) -%}
        {{ return(result.columns[0].values()[0]) }}
    {%- else -%}
        {{ return(-1) }}
    {%- endif -%}
{%- endmacro %}

{% macro new_since_watermark(column='_dlt_load_id') -%}
    {%- if carehouse.incremental_build() -%}
        {{ carehouse.load_id_number(column) }} > {{ carehouse.watermark_value() }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro touched_keys(relation, key_columns) -%}
    select distinct {{ key_columns | join(', ') }}
    from {{ relation }}
    where {{ key_columns | join(' is not null and ') }} is not null
        and {{ carehouse.new_since_watermark() }}
{%- endmacro %}

{% macro delete_touched_keys(key_columns, touched_sql) -%}
    {%- if carehouse.incremental_build() -%}
        delete from {{ this }}
        where ({{ key_columns | join(', ') }}) in ({{ touched_sql }})
    {%- endif -%}
{%- endmacro %}
