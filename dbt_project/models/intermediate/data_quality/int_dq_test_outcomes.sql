-- ============================================================================
-- int_dq_test_outcomes
-- How many dbt tests of each type and tested layer last ended in each status,
-- and the failing rows they reported (counts only: never the rows). A test's
-- latest recorded outcome counts (dq_test_results keeps one row per test;
-- should a race of two hooks leave two, the latest wins). Every (type, layer,
-- status) has a row, zeros included, so each measured data state has the same
-- rows. A view: read when the gold mart builds, it sees every outcome
-- recorded by then (the silver and snapshot tests of the same run, the gold
-- tests of the previous one: dbt records results when an invocation ends).
-- ============================================================================

{{ config(materialized='view') }}

with

results as (

    select * from {{ ref('dq_test_results') }}

),

ranked as (

    select
        results.*,
        row_number() over (
            partition by test_unique_id order by executed_at desc, invocation_id desc
        ) as outcome_rank
    from results

),

latest as (

    select * from ranked
    where outcome_rank = 1

),

spine as (

    {% for test_type, layer, status in dq_test_outcome_cells() -%}
    select
        cast('{{ test_type }}' as {{ dbt.type_string() }}) as test_type,
        cast('{{ layer }}' as {{ dbt.type_string() }}) as tested_layer,
        cast('{{ status }}' as {{ dbt.type_string() }}) as status
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        spine.test_type,
        spine.tested_layer,
        spine.status,
        cast(count(latest.test_unique_id) as {{ dbt.type_bigint() }}) as tests,
        cast(coalesce(sum(latest.failures), 0) as {{ dbt.type_bigint() }}) as failing_records
    from spine
    left join latest
        on latest.test_type = spine.test_type
        and latest.tested_layer = spine.tested_layer
        and latest.status = spine.status
    group by spine.test_type, spine.tested_layer, spine.status

)

select * from final
