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
