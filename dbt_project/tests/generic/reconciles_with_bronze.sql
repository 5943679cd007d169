{#- ===========================================================================
    reconciles_with_bronze: nothing is lost silently. On a de-duplicated model
    (one row per natural key, carrying versions_seen), the books balance:
        count(bronze) = count(staged) = count(quarantined) + sum(versions_seen)
    Returns one row with the four numbers when they do not.
        data_tests:
          - reconciles_with_bronze:
              arguments:
                bronze: source('ehr', 'ehr__coverage')
                staged: ref('stg_ehr__coverages')
                quarantined: ref('quarantine_ehr__coverages')
=========================================================================== -#}
{% test reconciles_with_bronze(model, bronze, staged, quarantined, versions_column='versions_seen') %}

with

counts as (

    select
        (select count(*) from {{ bronze }}) as bronze_rows,
        (select count(*) from {{ staged }}) as staged_rows,
        (select count(*) from {{ quarantined }}) as quarantined_rows,
        (select coalesce(sum({{ versions_column }}), 0) from {{ model }}) as deduplicated_versions

)

select *
from counts
where bronze_rows <> staged_rows
   or staged_rows <> quarantined_rows + deduplicated_versions

{% endtest %}
