{#- ===========================================================================
    The one rule for picking the current version of a re-sent FHIR resource.

    latest_version_rank(partition_by): row_number() of a staged row among the
        usable rows of its natural key; 1 = the current version. The latest
        meta.lastUpdated wins, ties go to the later batch_id, then the later
        line_number (then source_file, for determinism). A row without
        lastUpdated loses to any dated one.
    versions_seen(partition_by): how many usable staged rows share the key.

    Both expect the staging lineage columns (source_last_updated_at, batch_id,
    line_number, source_file). Example:
        {{ latest_version_rank(['source_system', 'coverage_id']) }} as version_rank
=========================================================================== -#}
{% macro latest_version_rank(partition_by) -%}
    {%- if partition_by is string or partition_by | length == 0 -%}
        {{ exceptions.raise_compiler_error("latest_version_rank expects a non-empty list of columns, got " ~ partition_by) }}
    {%- endif -%}
    row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by
            source_last_updated_at desc nulls last,
            batch_id desc,
            line_number desc,
            source_file desc
    )
{%- endmacro %}

{% macro versions_seen(partition_by) -%}
    {%- if partition_by is string or partition_by | length == 0 -%}
        {{ exceptions.raise_compiler_error("versions_seen expects a non-empty list of columns, got " ~ partition_by) }}
    {%- endif -%}
    count(*) over (partition by {{ partition_by | join(', ') }})
{%- endmacro %}
