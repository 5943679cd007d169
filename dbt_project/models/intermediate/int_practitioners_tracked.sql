-- ============================================================================
-- int_practitioners_tracked
-- The relation the practitioner snapshot (snapshots/snap_practitioners.yml)
-- reads: one row per practitioner with ONLY the attributes whose history
-- carehouse keeps (SCD Type 2), their hash, and when they last changed.
--   tracked: department (specialty code and display of the current role),
--            facility (location) and organization of that role, NPI
--   attributes_hash: md5 over the tracked columns (macro attributes_hash)
--   attributes_updated_at: latest meta.lastUpdated of the practitioner or
--            any of their roles (arrival time only when none has one), as a
--            UTC timestamp without time zone: dbt_valid_from of a new version.
-- ============================================================================

{% set tracked_columns = ['specialty_code', 'specialty_display', 'location_id', 'organization_id', 'npi'] %}

with

practitioners as (

    select * from {{ ref('cdm_practitioners') }}

),

final as (

    select
        ---------- keys
        practitioner_key,
        facility_key,
        organization_key,

        ---------- source ids
        source_system,
        practitioner_id,

        ---------- tracked attributes
        {% for column in tracked_columns -%}
        {{ column }},
        {% endfor %}
        ---------- change detection
        {{ attributes_hash(tracked_columns) }} as attributes_hash,
        -- the source's change time: latest meta.lastUpdated of the practitioner and its roles;
        -- only when none of them carries one, when the practitioner's current version arrived
        {{ to_utc_timestamp('coalesce(' ~ greatest_not_null('source_last_updated_at', 'roles_last_updated_at') ~ ', ingested_at)') }} as attributes_updated_at

    from practitioners

)

select * from final
