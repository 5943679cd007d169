{#- ===========================================================================
    Test outcomes for the data-quality models.

    dq_record_test_results(results): the project's on-run-end hook. dbt hands
    an invocation's `results` to on-run-end hooks only, so this writes the
    outcome of every data test and unit test the invocation executed into
    silver.dq_test_results (model models/intermediate/data_quality/
    dq_test_results.sql owns the table): status and failing-row COUNT only,
    never the failing rows (they could hold PHI). One row per test: a test's
    new outcome replaces its old one, so re-running a step leaves as many rows
    as before; rows of tests that no longer exist are pruned (data tests not
    in the project; unit tests of a model whose other unit tests just ran).
    The table is created (or given missing columns) here too, for a `dbt
    test` before the first build. No statement at all (a no-op) unless the
    invocation is a `dbt build` / `dbt test` that executed tests: parse,
    compile, run, seed, snapshot, docs ... write nothing. Postgres DDL.

    dq_test_results_columns(): the table's columns, shared with the model.
=========================================================================== -#}
{% macro dq_test_results_columns() -%}
    {{ return([
        ('test_unique_id', dbt.type_string()),
        ('test_name', dbt.type_string()),
        ('test_type', dbt.type_string()),
        ('tested_node', dbt.type_string()),
        ('tested_layer', dbt.type_string()),
        ('status', dbt.type_string()),
        ('failures', dbt.type_bigint()),
        ('executed_at', dbt.type_timestamp()),
        ('invocation_id', dbt.type_string()),
    ]) }}
{%- endmacro %}

{#- Pipeline order of the layers a test can check: a test reading several nodes
    (e.g. a reconciliation of bronze, staging and quarantine) belongs to the last. -#}
{% macro dq_layer_order() -%}
    {{ return(['bronze', 'seeds', 'staging', 'quarantine', 'intermediate', 'snapshots', 'marts']) }}
{%- endmacro %}

{#- dq_test_outcome_cells(): every (test type, tested layer, status) int_dq_test_outcomes
    reports, zeros included, so each measured data state has the same rows. The hook writes
    dbt's data and unit tests; Dagster's Great Expectations checks write their own rows
    (test_type gx_check, orchestration/checks/outcomes.py), which the hook never prunes. -#}
{% macro dq_test_outcome_cells() -%}
    {%- set cells = [] -%}
    {%- set dbt_statuses = ['pass', 'warn', 'fail', 'error', 'skipped'] -%}
    {#- gx_check: the Great Expectations checks Dagster runs (orchestration/checks/outcomes.py) -#}
    {%- for test_type, layers, statuses in [
            ('data_test', carehouse.dq_layer_order(), dbt_statuses),
            ('unit_test', ['staging', 'quarantine', 'intermediate', 'marts'], dbt_statuses),
            ('gx_check', ['bronze', 'intermediate'], ['pass', 'fail'])] -%}
        {%- for layer in layers -%}
            {%- for status in statuses -%}
                {%- do cells.append([test_type, layer, status]) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(cells) }}
{%- endmacro %}

{% macro dq_node_layer(node) -%}
    {%- if node.resource_type == 'source' -%}{{ return('bronze') }}
    {%- elif node.resource_type == 'model' -%}{{ return(node.fqn[1] if node.fqn | length > 2 else 'models') }}
    {%- else -%}{{ return(node.resource_type ~ 's') }}
    {%- endif -%}
{%- endmacro %}

{#- (name, layer) of the node a test checks: a unit test's model; for a data test the
    most downstream node it reads. -#}
{% macro dq_tested_node(test_node) -%}
    {%- set order = carehouse.dq_layer_order() -%}
    {%- set found = {'name': none, 'layer': 'other', 'rank': -1} -%}
    {%- set tested = test_node.tested_node_unique_id if test_node.resource_type == 'unit_test' else none -%}
    {%- for uid in ([tested] if tested else test_node.depends_on.nodes) -%}
        {%- set node = graph.nodes.get(uid) or graph.sources.get(uid) -%}
        {%- if node -%}
            {%- set layer = carehouse.dq_node_layer(node) -%}
            {%- set rank = order.index(layer) if layer in order else -1 -%}
            {%- if found['name'] is none or rank > found['rank'] -%}
                {%- do found.update({'name': node.name, 'layer': layer, 'rank': rank}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{% macro dq_sql_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{% macro dq_record_test_results(results) -%}
    {%- if not execute or flags.WHICH not in ('build', 'test') -%}{{ return('') }}{%- endif -%}
    {%- set rows = [] -%}
    {%- set test_ids = [] -%}
    {%- set unit_test_ids = ["''"] -%}
    {%- set unit_tested_models = ["''"] -%}
    {%- set executed_at = run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- for res in results
            if res.node.resource_type in ('test', 'unit_test')
            and (res.status | string | lower) in ('pass', 'warn', 'fail', 'error', 'skipped') -%}
        {%- set tested = carehouse.dq_tested_node(res.node) -%}
        {%- do test_ids.append(carehouse.dq_sql_literal(res.node.unique_id)) -%}
        {%- if res.node.resource_type == 'unit_test' -%}
            {%- do unit_test_ids.append(carehouse.dq_sql_literal(res.node.unique_id)) -%}
            {%- do unit_tested_models.append(carehouse.dq_sql_literal(tested['name'])) -%}
        {%- endif -%}
        {%- do rows.append('(' ~ [
            carehouse.dq_sql_literal(res.node.unique_id),
            carehouse.dq_sql_literal(res.node.name),
            carehouse.dq_sql_literal('data_test' if res.node.resource_type == 'test' else 'unit_test'),
            carehouse.dq_sql_literal(tested['name']),
            carehouse.dq_sql_literal(tested['layer']),
            carehouse.dq_sql_literal(res.status | string | lower),
            (res.failures | int | string) if res.failures is number else 'null',
            'cast(' ~ carehouse.dq_sql_literal(executed_at) ~ ' as ' ~ dbt.type_timestamp() ~ ')',
            carehouse.dq_sql_literal(invocation_id),
        ] | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- if rows | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set owner = graph.nodes.get('model.carehouse.dq_test_results') -%}
    {%- set relation = api.Relation.create(
        database=owner.database, schema=owner.schema, identifier=owner.alias) -%}
    {%- set columns = carehouse.dq_test_results_columns() -%}
    {%- set data_tests = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' -%}
        {%- do data_tests.append(carehouse.dq_sql_literal(node.unique_id)) -%}
    {%- endfor -%}
    {#- one batch (hooks run outside a transaction; Postgres runs a multi-statement batch atomically) -#}
create schema if not exists {{ relation.without_identifier().include(database=false) }};
create table if not exists {{ relation }} (
    {%- for name, type in columns %}
    {{ name }} {{ type }}{{ ',' if not loop.last }}
    {%- endfor %}
);
-- a table created by an older version of this hook gets the columns it lacks
alter table {{ relation }}
    {%- for name, type in columns %}
    add column if not exists {{ name }} {{ type }}{{ ',' if not loop.last }}
    {%- endfor %};
-- the executed tests' old outcomes, and tests that no longer exist: data tests gone from the
-- project, unit tests of a model whose unit tests ran now but not these
delete from {{ relation }}
where test_unique_id in ({{ test_ids | join(', ') }})
    or (test_type = 'data_test' and test_unique_id not in ({{ data_tests | join(', ') or "''" }}))
    or (test_type = 'unit_test' and tested_node in ({{ unit_tested_models | unique | join(', ') }})
        and test_unique_id not in ({{ unit_test_ids | join(', ') }}));
insert into {{ relation }} ({{ columns | map(attribute=0) | join(', ') }})
values
{{ rows | join(',\n') }}
{%- endmacro %}
