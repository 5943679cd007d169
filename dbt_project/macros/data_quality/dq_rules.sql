{#- ===========================================================================
    Data-quality rules for staging models.

    A rule is a dict: {'name': 'missing_id', 'when': '<sql condition>',
    'quarantine': true|false}. The condition must be null-safe: it is "fired"
    only when it evaluates to true.

    dq_flags(rules)          -> every fired rule, upper-cased, pipe-separated
                                ('MISSING_ID|MISSING_END'), null when none fired.
    quarantine_reason(rules) -> the first fired rule with quarantine=true
                                (rules are listed most fundamental first),
                                null when the row is usable.
=========================================================================== -#}
{% macro dq_flags(rules) -%}
    {%- set pieces = [] -%}
    {%- for rule in rules -%}
        {%- do pieces.append("case when " ~ rule['when'] ~ " then '|" ~ rule['name'] | upper ~ "' else '' end") -%}
    {%- endfor -%}
    nullif(substr({{ dbt.concat(pieces) }}, 2), '')
{%- endmacro %}

{% macro quarantine_reason(rules) -%}
    {%- set fatal = rules | selectattr('quarantine') | list -%}
    {%- if fatal | length == 0 -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
    case
        {%- for rule in fatal %}
        when {{ rule['when'] }} then '{{ rule['name'] | lower }}'
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}
