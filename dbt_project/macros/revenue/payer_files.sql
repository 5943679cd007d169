{#- ===========================================================================
    Shared by the payers' monthly files (claims, pharmacy fills, eligibility).

    payer_file_month(): the month a payer file is about, from its name
    (<kind>_<payer>_YYYY-MM.csv): the first day of that month.

    is_superseded_payer_file(month_column): true on rows of a file that a newer
    file (arrival day, then batch) of the same payer and month replaced: a
    file delivered twice or resubmitted counts once, as its newest version.

    account_patient_system(account) / account_patient_id(account): the EHR
    system (athena for ATH, epic for EPC) and FHIR patient id (the digits
    without leading zeros) of a network patient account; null when the account
    is not one.
=========================================================================== -#}
{% macro payer_file_month() -%}
    {{ safe_cast_date(dbt.concat(["substr(source_file, length(source_file) - 10, 7)", "'-01'"])) }}
{%- endmacro %}

{% macro is_superseded_payer_file(month_column) -%}
    dense_rank() over (
        partition by payer_feed_code, {{ month_column }}
        order by file_date desc, batch_id desc
    ) > 1
{%- endmacro %}

{% macro account_patient_system(account) -%}
    case
        when {{ regex_full_match(account, '^ATH\\d{1,9}$') }} then 'athena'
        when {{ regex_full_match(account, '^EPC\\d{1,9}$') }} then 'epic'
    end
{%- endmacro %}

{% macro account_patient_id(account) -%}
    case
        when {{ regex_full_match(account, '^(ATH|EPC)\\d{1,9}$') }}
            then cast({{ safe_cast_integer('substr(' ~ account ~ ', 4)') }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{#- ---------------------------------------------------------------------------
    Incremental builds of the payer files (macros/incremental/vanishing_keys.sql):

    payer_month_partition(month_column): the (payer feed, month) a payer file
        belongs to, a null month included, as a comparable row value.
    touched_payer_months(staging_relation, month_column): a subquery, the
        payer_month_partition of the staged rows of new loads: the files of
        those payer months may have been superseded.
    touched_payer_month_keys(staging_relation, month_column, key_columns): a
        subquery, the distinct non-null key_columns of every staged row (any
        file, superseded or not) of those payer months: the keys whose
        current version may have changed.
    current_payer_files(month_column, staged, held_here): a boolean for a
        WHERE, on an incremental build: the row is of a file {{ this }} holds
        as current (not is_superseded) in a payer month of a new staged row.
        A newer file can only supersede a current one: these are the files
        whose is_superseded may flip. `false` on a full build.
        - held_here (staging): the rows are read from {{ this }}; `staged` is
          the CTE of the new rows. Example (stg_claims__claim_lines):
              {{ new_and_previous_rows(staged_columns, current_payer_files('claim_month')) }}
        - not held_here (quarantine): the rows are the staging model's
          (`staged`, read whole: the new rows are its loads newer than the
          watermark of {{ this }}) and their file is looked up here, so the
          build takes their new is_superseded. Example:
              where {{ incremental_load_filter() }}
                  or {{ current_payer_files('file_month', held_here=false) }}
--------------------------------------------------------------------------- -#}
{% macro payer_month_partition(month_column) -%}
    payer_feed_code, coalesce({{ month_column }}, cast('0001-01-01' as date))
{%- endmacro %}

{% macro touched_payer_months(staging_relation, month_column) -%}
    select distinct {{ carehouse.payer_month_partition(month_column) }}
    from {{ staging_relation }}
    where {{ carehouse.new_since_watermark() }}
{%- endmacro %}

{% macro touched_payer_month_keys(staging_relation, month_column, key_columns) -%}
    select distinct {{ key_columns | join(', ') }}
    from {{ staging_relation }}
    where {{ key_columns | join(' is not null and ') }} is not null
        and ({{ carehouse.payer_month_partition(month_column) }})
            in ({{ carehouse.touched_payer_months(staging_relation, month_column) }})
{%- endmacro %}

{% macro current_payer_files(month_column, staged='staged', held_here=true) -%}
    {%- if carehouse.incremental_build() -%}
    ({{ 'not is_superseded' if held_here
        else 'source_file in (select source_file from ' ~ this ~ ' where not is_superseded)' }}
        and ({{ carehouse.payer_month_partition(month_column) }}) in (
            {#- distinct: the planner then expects a few payer months and hashes them; without
                it, inside the OR it rescans every staged row for each row (minutes at 25k
                patients) -#}
            select distinct {{ carehouse.payer_month_partition(month_column) }} from {{ staged }}
            {%- if not held_here %}
            where {{ carehouse.incremental_load_filter() }}
            {%- endif %}
        ))
    {%- else -%}
    false
    {%- endif -%}
{%- endmacro %}
