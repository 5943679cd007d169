-- ============================================================================
-- int_dq_landing_batches
-- Landing batches by their last verification against manifest.json, per
-- loader and landing folder ({system}/{entity}): verified, stray_files (listed
-- files loaded, unlisted ones not), failed (a listed file missing or changed:
-- nothing of the batch loaded), no_manifest (files without a manifest past the
-- grace period), removed (gone from the landing zone). Written by the loaders
-- and the bronze/landing__batches asset before any load (see
-- ingestion/landing_audit.py); every status counts, zeros included. A
-- warehouse that never verified a batch (e.g. loaded through the FHIR API
-- only) has no audit table yet: it counts nothing.
-- ============================================================================

{%- set audit = source('landing', 'landing__batches') -%}
{%- set audited = execute and load_relation(audit) is not none -%}
{%- set statuses = ['verified', 'stray_files', 'failed', 'no_manifest', 'removed'] %}

with

batches as (

    {% if audited -%}
    select loader, source_system, entity, status, batch_path from {{ audit }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as loader,
        cast(null as {{ dbt.type_string() }}) as source_system,
        cast(null as {{ dbt.type_string() }}) as entity,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as batch_path
    where 1 = 0
    {%- endif %}

),

folders as (

    select distinct
        loader,
        {{ dbt.concat(['source_system', "'/'", 'entity']) }} as landing_folder
    from batches

),

statuses as (

    {% for status in statuses -%}
    select cast('{{ status }}' as {{ dbt.type_string() }}) as batch_status
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select
        folders.loader as source_name,
        folders.landing_folder as source_table,
        statuses.batch_status,
        cast(count(batches.batch_path) as {{ dbt.type_bigint() }}) as batch_count
    from folders
    cross join statuses
    left join batches
        on batches.loader = folders.loader
        and {{ dbt.concat(['batches.source_system', "'/'", 'batches.entity']) }} = folders.landing_folder
        and batches.status = statuses.batch_status
    group by 1, 2, 3

)

select * from counted
