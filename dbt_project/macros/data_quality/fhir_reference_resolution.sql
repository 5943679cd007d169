{#- ===========================================================================
    Conditional FHIR references ('Practitioner?identifier=<system>|<value>')
    resolved in the int_*_deduplicated models, after de-duplication, against
    silver.int_ehr_identifiers (one row per source system, resource type,
    identifier system and value; identifier_system '*' = "any system").

    reference_lookup_join(alias, stem, resource_type): the LEFT JOIN, as
    `<stem>_match`; the key is unique in the lookup, so rows never multiply,
    and rows without a conditional reference (null identifier value) skip it.
    resolved_reference_id(alias, stem): the literal id, else the matched one.
    unresolved_reference_rule(name, alias, stem): the dq rule that fires for
    a conditional reference no single resource matches (none, or several).
    append_dq_flags(existing, rules): _dq_flags plus the rules that fired,
    the same pipe-separated shape dq_flags() writes.
=========================================================================== -#}
{% macro reference_lookup_join(alias, stem, resource_type) -%}
    left join {{ ref('int_ehr_identifiers') }} as {{ stem }}_match
        on {{ stem }}_match.source_system = {{ alias }}.source_system
        and {{ stem }}_match.resource_type = '{{ resource_type }}'
        and {{ stem }}_match.identifier_system = coalesce({{ alias }}.{{ stem }}_identifier_system, '*')
        and {{ stem }}_match.identifier_value = {{ alias }}.{{ stem }}_identifier_value
{%- endmacro %}

{% macro resolved_reference_id(alias, stem) -%}
    coalesce({{ alias }}.{{ stem }}_id, {{ stem }}_match.resource_id)
{%- endmacro %}

{% macro unresolved_reference_rule(name, alias, stem) -%}
    {{ return({'name': 'unresolved_' ~ name ~ '_reference', 'quarantine': false,
               'when': alias ~ "." ~ stem ~ "_identifier_value is not null and "
                       ~ stem ~ "_match.resource_id is null"}) }}
{%- endmacro %}

{% macro append_dq_flags(existing, rules) -%}
    {%- set pieces = ["coalesce(" ~ dbt.concat(["'|'", existing]) ~ ", '')"] -%}
    {%- for rule in rules -%}
        {%- do pieces.append("case when " ~ rule['when'] ~ " then '|" ~ rule['name'] | upper ~ "' else '' end") -%}
    {%- endfor -%}
    nullif(substr({{ dbt.concat(pieces) }}, 2), '')
{%- endmacro %}


{#- resolve_references(relation, references): the body of an int model's
    `resolved` CTE: the current versions (version_rank = 1) of `relation`
    with resolved_<stem>_id per reference and resolved_dq_flags, where
    references = [(name, stem, resource_type), ...], e.g.
    ('practitioner', 'practitioner', 'Practitioner'). Two branches: rows
    without any conditional reference (every row of athena / epic) pass
    through untouched, never joined; only rows with one go through the
    lookup joins, so a warehouse without conditional references pays
    nothing (and a bad row estimate on fresh tables cannot turn the joins
    into nested loops over the whole table). -#}
{% macro resolve_references(relation, references) -%}
    {%- set rules = [] -%}
    {%- set literal_only = [] -%}
    {%- for name, stem, resource_type in references -%}
        {%- do rules.append(carehouse.unresolved_reference_rule(name, relation, stem)) -%}
        {%- do literal_only.append(relation ~ "." ~ stem ~ "_identifier_value is null") -%}
    {%- endfor %}
    select
        {{ relation }}.*,
        {%- for name, stem, resource_type in references %}
        {{ relation }}.{{ stem }}_id as resolved_{{ stem }}_id,
        {%- endfor %}
        {{ relation }}._dq_flags as resolved_dq_flags
    from {{ relation }}
    where {{ relation }}.version_rank = 1
        and {{ literal_only | join("\n        and ") }}

    union all

    select
        {{ relation }}.*,
        {%- for name, stem, resource_type in references %}
        {{ carehouse.resolved_reference_id(relation, stem) }} as resolved_{{ stem }}_id,
        {%- endfor %}
        {{ carehouse.append_dq_flags(relation ~ '._dq_flags', rules) }} as resolved_dq_flags
    from {{ relation }}
    {%- for name, stem, resource_type in references %}
    {{ carehouse.reference_lookup_join(relation, stem, resource_type) }}
    {%- endfor %}
    where {{ relation }}.version_rank = 1
        and not ({{ literal_only | join(" and ") }})
{%- endmacro %}


{#- prefer_hash_joins(): a pre-hook for the models that resolve conditional
    references. dbt's fresh tables have no statistics yet, so Postgres
    estimates a handful of rows and picks nested loops for the lookup joins:
    quadratic on a real export (measured: 480 ms vs 13 ms for 1,700 rows,
    minutes for 100,000). SET LOCAL lasts for the model's transaction only.
    Other engines plan these equi-joins as hash joins anyway: no hook.
    Not on an incremental build either: it looks a few keys up. -#}
{% macro prefer_hash_joins() -%}
    {{ return(adapter.dispatch('prefer_hash_joins', 'carehouse')()) }}
{%- endmacro %}

{% macro postgres__prefer_hash_joins() -%}
    {#- an incremental build reads a few touched keys through indexes: loops -#}
    {{ return('' if carehouse.incremental_build() else 'set local enable_nestloop = off') }}
{%- endmacro %}

{% macro default__prefer_hash_joins() -%}
    {{ return('') }}
{%- endmacro %}
