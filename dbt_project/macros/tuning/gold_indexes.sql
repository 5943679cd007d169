{#- ===========================================================================
    finish_gold_table(): the marts' post-hook, after the build's commit (once
    dbt has dropped the previous version of the table, whose index and
    constraint names the new one takes over).

    1. Constraint names without `__dbt_tmp`: dbt-postgres creates a contract's
       primary key on the intermediate relation `<model>__dbt_tmp`, so Postgres
       names it `<model>__dbt_tmp_pkey`; renamed to `<model>_pkey` (its index
       too). A name declared in the contract would collide with the previous
       version's while both tables exist.
    2. Btree indexes for analysts, derived from the model's contract columns by
       gold_index_columns(): `ix_<model>__<column>`, `create index if not
       exists`, so an incremental model keeps its indexes and gets new ones.
    Postgres only; a no-op for views, ephemeral models and other adapters.
=========================================================================== -#}
{% macro finish_gold_table() -%}
    {{ return(adapter.dispatch('finish_gold_table', 'carehouse')()) }}
{%- endmacro %}

{% macro default__finish_gold_table() -%}{%- endmacro %}

{% macro postgres__finish_gold_table() -%}
    {%- if not execute or model.config.materialized not in ('table', 'incremental') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set relation = this.include(database=false) -%}
do $carehouse$
declare
    tmp record;
begin
    for tmp in
        select conname from pg_constraint
        where conrelid = '{{ relation }}'::regclass and strpos(conname, '__dbt_tmp') > 0
    loop
        execute format('alter table {{ relation }} rename constraint %I to %I',
                       tmp.conname, replace(tmp.conname, '__dbt_tmp', ''));
    end loop;
end
$carehouse$;
    {%- for column in carehouse.gold_index_columns(model) %}
create index if not exists {{ adapter.quote(carehouse.gold_index_name(this.identifier, column)) }}
    on {{ relation }} ({{ adapter.quote(column) }});
    {%- endfor %}
{%- endmacro %}

{#- The columns analysts join and filter a gold table on, from its contract:
    - facts and bridges (`fct_*`, `bridge_*`): every `*_key` column (the foreign
      keys to the dimensions, durable keys and date keys `*_date_key`) except
      the primary key's leading column, which the primary key's index covers;
    - any model: the columns its `meta.index_columns` lists (e.g. the review
      mart's filters). -#}
{% macro gold_index_columns(node) -%}
    {%- set primary = [] -%}
    {%- for constraint in node.constraints or [] if constraint.type == 'primary_key' -%}
        {%- do primary.append((constraint.columns or [none])[0]) -%}
    {%- endfor -%}
    {%- for column in node.columns.values() -%}
        {%- for constraint in column.constraints or [] if constraint.type == 'primary_key' -%}
            {%- do primary.append(column.name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set columns = [] -%}
    {%- if node.name.startswith('fct_') or node.name.startswith('bridge_') -%}
        {%- for name in node.columns if name.endswith('_key') and name not in primary[:1] -%}
            {%- do columns.append(name) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name in (node.config.meta or {}).get('index_columns', []) if name not in columns -%}
        {%- do columns.append(name) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- `ix_<table>__<column>`, shortened with a hash past Postgres's 63 characters. -#}
{% macro gold_index_name(table, column) -%}
    {%- set name = 'ix_' ~ table ~ '__' ~ column -%}
    {%- if name | length > 63 -%}
        {%- set name = name[:54] ~ '_' ~ local_md5(name)[:8] -%}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}
