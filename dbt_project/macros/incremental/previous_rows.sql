{#- ===========================================================================
    Staging models with a flag computed across files (is_superseded of the
    payer files, is_latest_extract of the billing extracts): a new file can
    change the flag of rows an earlier build wrote, so an incremental build
    computes it again for the new rows and the rows here it may change, and
    delete+insert by source_file replaces those files.

    new_and_previous_rows(columns, previous, new_rows): the body of the
        model's candidates CTE: every row of new_rows (the CTE of the new
        staged rows) and, on an incremental build, `columns` of the rows of
        {{ this }} that the condition `previous` picks (rows copied from an
        earlier build, the flag left out: the model computes it over both).
        Example (stg_claims__claim_lines):
            candidates as (
                {{ new_and_previous_rows(staged_columns, current_payer_files('claim_month')) }}
            ),
=========================================================================== -#}
{% macro new_and_previous_rows(columns, previous, new_rows='staged') -%}
    select * from {{ new_rows }}
    {%- if carehouse.incremental_build() %}
    union all
    select
        {{ columns }}
    from {{ this }}
    where {{ previous }}
    {%- endif %}
{%- endmacro %}
