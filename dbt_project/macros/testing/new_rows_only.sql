{#- ===========================================================================
    Row-level tests read only the rows of new loads in a daily build.

    dbt hands every generic test's `model` through get_where_subquery (where a
    test's `where` config applies). This override adds one more filter when
    the environment variable CAREHOUSE_TESTS_AFTER_LOAD_ID holds a bronze load
    id: rows whose `_dlt_load_id` is not newer are left out, so a day's tests
    cost what the day brought. The Dagster dbt steps set it to the load their
    last build consumed (orchestration/dbt_selection.py); the weekly full check,
    `carehouse dbt test` and any dbt run by hand leave it unset and test every
    row.

    Only tests that gate (severity error) and judge each row on its own are
    narrowed (not_null, accepted_values, relationships from the child side,
    expression_is_true): a row that passed them once passes them forever.
    Tests across rows (unique, unique_combination_of_columns, reconciliations,
    SCD2 windows) always read the whole relation, as do tests that measure
    (severity warn: their failure count is the steward's figure for the whole
    relation in gold.mart_data_quality_metrics) and relations without
    `_dlt_load_id` (the common data model of several resources, gold).
=========================================================================== -#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set after = carehouse.tests_after_load_id(relation) -%}
    {%- if after is not none -%}
        {#- the expression of bronze's load-id indexes (macros/incremental/incremental_loads.sql) -#}
        {%- do conditions.append('cast(_dlt_load_id as numeric) > ' ~ after) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- The load id after which this test reads rows (a number, as SQL text), or none: read every row. -#}
{% macro tests_after_load_id(relation) -%}
    {#- at parse time nothing is known yet; the test is compiled again when it runs -#}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set after = env_var('CAREHOUSE_TESTS_AFTER_LOAD_ID', '') | trim -%}
    {%- if not after or model.test_metadata is not defined or model.test_metadata is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- if model.test_metadata.name not in ('not_null', 'accepted_values', 'relationships', 'expression_is_true') -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- if (config.get('severity') or 'error') | lower == 'warn' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]+(\.[0-9]+)?', after) -%}
        {{ exceptions.raise_compiler_error("CAREHOUSE_TESTS_AFTER_LOAD_ID must be a bronze load id (a number), not '" ~ after ~ "'") }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- do return(after if '_dlt_load_id' in columns else none) -%}
{%- endmacro %}
