-- ============================================================================
-- int_patients_tracked
-- The relation the patient snapshot (snapshots/snap_patients.yml) reads: one
-- row per patient with ONLY the attributes whose history carehouse keeps
-- (SCD Type 2), their hash, and when they last changed at the source.
--   tracked: gender, address city / state / postal code, insurance type of
--            the coverage in force, primary care practitioner
--   attributes_hash: md5 over the tracked columns (macro attributes_hash);
--            the snapshot opens a new version only when it changes
--   attributes_updated_at: latest meta.lastUpdated of the patient or any of
--            their coverages (arrival time only when none has one), as a UTC
--            timestamp without time zone: dbt_valid_from of a new version.
--            Monotonic as long as the source's lastUpdated is.
-- ============================================================================

{% set tracked_columns = ['gender', 'city', 'state', 'postal_code', 'insurance_type_code', 'primary_care_practitioner_id'] %}

with

patients as (

    select * from {{ ref('cdm_patients') }}

),

final as (

    select
        ---------- keys
        patient_key,
        primary_care_practitioner_key,

        ---------- source ids
        source_system,
        patient_id,

        ---------- tracked attributes
        {% for column in tracked_columns -%}
        {{ column }},
        {% endfor %}
        ---------- change detection
        {{ attributes_hash(tracked_columns) }} as attributes_hash,
        -- the source's change time: latest meta.lastUpdated of the patient and its coverages;
        -- only when none of them carries one, when the patient's current version arrived
        {{ to_utc_timestamp('coalesce(' ~ greatest_not_null('source_last_updated_at', 'coverages_last_updated_at') ~ ', ingested_at)') }} as attributes_updated_at

    from patients

)

select * from final
