{#- ===========================================================================
    scd2_windows_are_contiguous: the validity windows of every key form one
    unbroken timeline. Fails for each version (row) that
      - has no valid_from,
      - has an empty or inverted window (valid_to <= valid_from),
      - does not end exactly where the key's next version starts (a gap or an
        overlap), or is open-ended (valid_to null) while a later version exists.
    Works for dbt snapshots (dbt_valid_from / dbt_valid_to, current = null)
    and for dimensions that close the current window with a far-future date.
        data_tests:
          - scd2_windows_are_contiguous:
              arguments:
                unique_key: patient_key
                valid_from: dbt_valid_from
                valid_to: dbt_valid_to
=========================================================================== -#}
{% test scd2_windows_are_contiguous(model, unique_key, valid_from='dbt_valid_from', valid_to='dbt_valid_to') %}

with

windows as (

    select
        {{ unique_key }} as scd_key,
        {{ valid_from }} as window_from,
        {{ valid_to }} as window_to,
        lead({{ valid_from }}) over (
            partition by {{ unique_key }}
            order by {{ valid_from }}
        ) as next_window_from
    from {{ model }}

)

select *
from windows
where window_from is null
   or window_to <= window_from
   or (next_window_from is not null and (window_to is null or window_to <> next_window_from))

{% endtest %}
