{#- ===========================================================================
    scd2_has_one_current_row: every key has exactly one current version.
    `current_when` is the SQL condition that marks the current row
    (default: dbt snapshot style, valid_to is null). Fails for every key with
    zero or several current rows; together with scd2_windows_are_contiguous
    it also proves the current row is the latest one.
        data_tests:
          - scd2_has_one_current_row:
              arguments:
                unique_key: patient_key
                current_when: "dbt_valid_to is null"
=========================================================================== -#}
{% test scd2_has_one_current_row(model, unique_key, current_when='dbt_valid_to is null') %}

select
    {{ unique_key }} as scd_key,
    sum(case when {{ current_when }} then 1 else 0 end) as current_rows,
    count(*) as versions
from {{ model }}
group by {{ unique_key }}
having sum(case when {{ current_when }} then 1 else 0 end) <> 1

{% endtest %}
