{#- ===========================================================================
    expression_is_true: fails for every row where `expression` is not true
    (false or null). Model-level or column-level; narrow it with config `where`.
        data_tests:
          - expression_is_true:
              arguments:
                expression: "ended_at >= started_at"
=========================================================================== -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ column_name ~ ' ' if column_name is not none else '' }}{{ expression }}), false)

{% endtest %}
