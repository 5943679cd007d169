{#- ===========================================================================
    surrogate_key(field_list): the keyed hash (macro keyed_hash: HMAC-SHA256
    with the warehouse's gold key) of the fields cast to text, joined with '|'
    (a character FHIR ids cannot contain), nulls replaced by a sentinel so
    ('a', null) and (null, 'a') hash differently.
    Example: surrogate_key(['source_system', 'encounter_id'])
             = HMAC-SHA256(gold key, 'athena|1001') as 64 hex digits.
=========================================================================== -#}
{% macro surrogate_key(field_list) -%}
    {{ carehouse.keyed_hash(carehouse.natural_key(field_list)) }}
{%- endmacro %}

{#- natural_key(field_list): the '|'-joined text both surrogate_key (keyed) and
    attributes_hash (plain md5, change detection only) hash. -#}
{% macro natural_key(field_list) -%}
    {%- if field_list is string or field_list | length == 0 -%}
        {{ exceptions.raise_compiler_error("expected a non-empty list of column expressions, got " ~ field_list) }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for field in field_list -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '" ~ carehouse.surrogate_key_null() ~ "')") -%}
        {%- if not loop.last -%}
            {%- do parts.append("'|'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{% macro surrogate_key_null() -%}
    _carehouse_null_
{%- endmacro %}


{#- ===========================================================================
    optional_surrogate_key(id_column, field_list): the surrogate key, or null
    when the natural id is missing (a foreign key to "nothing" stays null).
=========================================================================== -#}
{% macro optional_surrogate_key(id_column, field_list) -%}
    case when {{ id_column }} is not null then {{ carehouse.surrogate_key(field_list) }} end
{%- endmacro %}
