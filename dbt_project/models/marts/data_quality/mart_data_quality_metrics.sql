-- ============================================================================
-- mart_data_quality_metrics
-- What a data steward watches, one tall table across every source and run:
-- one row per (data_as_of, metric_group, source_table, layer, relation,
-- metric). data_as_of is the data state measured: the latest bronze load
-- of any source. History: incremental delete+insert on data_as_of, so a build
-- on new data adds a set of rows and a re-run on the same data replaces its
-- own set (never a second copy). The per-topic figures come from the silver
-- int_dq_* models (models/intermediate/data_quality).
-- ============================================================================

{{ config(
    materialized='incremental',
    unique_key='data_as_of',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

{%- set text = dbt.type_string() -%}
{#- unconstrained (ANSI) numeric: dbt.type_numeric() is numeric(28,6) on Postgres -#}
{%- set number = 'numeric' %}

with

freshness as (

    select * from {{ ref('int_dq_source_freshness') }}

),

data_state as (

    -- 1900-01-01 before the first load: data_as_of is the history key and never null
    select coalesce(max(last_loaded_at), cast('1900-01-01 00:00:00+00' as {{ dbt.type_timestamp() }})) as data_as_of
    from freshness

),

metrics as (

    -- first: its typed columns set the union's types
    select 'source_freshness' as metric_group, source_name, source_table, 'bronze' as layer,
        source_table as relation_name, 'latest_load_rows' as metric_name,
        cast(latest_load_rows as {{ number }}) as metric_value, last_loaded_at, latest_batch
    from freshness

    union all

    select 'source_freshness', freshness.source_name, freshness.source_table, 'bronze', freshness.source_table,
        'hours_behind_newest_load',
        round(cast({{ dbt.datediff('freshness.last_loaded_at', 'data_state.data_as_of', 'second') }} as {{ number }}) / 3600, 2),
        freshness.last_loaded_at, freshness.latest_batch
    from freshness
    cross join data_state

    union all

    select 'layer_rows', source_name, source_table, layer, relation_name,
        'rows', row_count, null, null
    from {{ ref('int_dq_layer_row_counts') }}

    union all

    select 'quarantined_rows', source_name, source_table, 'quarantine', relation_name,
        quarantine_reason, row_count, null, null
    from {{ ref('int_dq_quarantine_by_reason') }}

    union all

    select 'quarantined_rows', source_name, source_table, 'bronze', relation_name,
        'rejected_at_load', row_count, null, null
    from {{ ref('int_dq_rejected_at_load') }}

    union all

    select 'dq_flags', source_name, source_table, 'staging', relation_name,
        rule_name, flagged_rows, null, null
    from {{ ref('int_dq_flags_by_rule') }}

    union all

    select 'unresolved_references', source_name, source_table, 'intermediate', relation_name,
        rule_name, flagged_rows, null, null
    from {{ ref('int_dq_unresolved_references') }}

    union all

    select 'code_systems', source_name, source_table, 'intermediate', relation_name,
        code_system_name, row_count, null, null
    from {{ ref('int_dq_code_systems') }}

    union all

    select 'code_systems_without_dimension_key', source_name, source_table, 'intermediate', relation_name,
        code_system_name, rows_without_dimension_key, null, null
    from {{ ref('int_dq_code_systems') }}

    union all

    select 'landing_batches', source_name, source_table, 'landing', 'landing__batches',
        batch_status, batch_count, null, null
    from {{ ref('int_dq_landing_batches') }}

    union all

    select 'unmodeled_resources', source_name, source_table, 'bronze', relation_name,
        'rows', row_count, null, null
    from {{ ref('int_dq_unmodeled_resources') }}

    union all

    select 'unmodeled_resources', source_name, source_table, 'bronze', relation_name,
        'files', file_count, null, null
    from {{ ref('int_dq_unmodeled_resources') }}

    union all

    select {{ dbt.concat(['test_type', "'_outcomes'"]) }}, null, null, tested_layer, null,
        status, tests, null, null
    from {{ ref('int_dq_test_outcomes') }}

    union all

    select {{ dbt.concat(['test_type', "'_outcomes'"]) }}, null, null, tested_layer, null,
        'failing_records', sum(failing_records), null, null
    from {{ ref('int_dq_test_outcomes') }}
    group by test_type, tested_layer

),

final as (

    select
        data_state.data_as_of,
        cast(metrics.metric_group as {{ text }}) as metric_group,
        cast(metrics.source_name as {{ text }}) as source,
        cast(metrics.source_table as {{ text }}) as source_table,
        cast(metrics.layer as {{ text }}) as layer,
        cast(metrics.relation_name as {{ text }}) as relation,
        cast(metrics.metric_name as {{ text }}) as metric,
        metrics.metric_value,
        metrics.last_loaded_at,
        metrics.latest_batch
    from metrics
    cross join data_state

)

select * from final
