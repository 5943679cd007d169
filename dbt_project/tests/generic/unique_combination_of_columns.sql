{#- ===========================================================================
    unique_combination_of_columns: fails for every combination of the given
    columns that occurs more than once (a composite primary key check).
        data_tests:
          - unique_combination_of_columns:
              arguments:
                combination_of_columns: [source_system, encounter_id]
=========================================================================== -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error("unique_combination_of_columns needs a non-empty list of columns") }}
{%- endif %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
