-- ============================================================================
-- int_adt_patients_tracked
-- The relation the ADT patient snapshot (snapshots/_adt__snapshots.yml)
-- reads: one row per ADT patient with ONLY the attributes whose history is
-- kept (SCD Type 2), their hash, and since when they hold.
--   tracked: gender, age band and insurance type as the patient's stays
--            were admitted (int_adt_stays: the admission's own values,
--            fixed once seen), as of the latest stay by admission time. A
--            value a stay lacks (an age nulled as INVALID_AGE) is carried
--            forward from the patient's previous stay, so a dirty event
--            never opens a version; 'unknown' only before any stay had one.
--            An insurance change between stays opens a new version.
--   attributes_hash: md5 over the tracked columns (macro attributes_hash)
--   attributes_updated_at: admission time of the first stay since which the
--            tracked values have been what they are now (the start of the
--            latest run of stays with the same hash), as a UTC timestamp
--            without time zone: dbt_valid_from of a new version, so a stay
--            finds the version valid at its admission. Stays only append
--            and never change their tracked values, so a new version always
--            starts after the current one (the snapshot's windows stay
--            contiguous).
-- Stays without a patient id are left out.
-- Stays a table: one small row per ADT patient, read whole by the snapshot
-- every build anyway, and a patient's values depend on all of their stays
-- (a stay's patient id can still change when a later event fills it in).
-- ============================================================================

{% set tracked_columns = ['gender', 'age_band', 'insurance_type'] %}

with

stays as (

    select
        patient_key,
        patient_id,
        stay_id,
        admitted_at,
        gender,
        case when age is not null then {{ age_band('age') }} end as age_band,
        insurance_type
    from {{ ref('int_adt_stays') }}
    where patient_key is not null

),

-- carry a missing value forward: every known value starts a group that the
-- following stays without one join (count() skips nulls)
grouped as (

    select
        stays.*,
        {% for column in tracked_columns -%}
        count({{ column }}) over (
            partition by patient_key
            order by admitted_at, stay_id
            rows between unbounded preceding and current row
        ) as {{ column }}_group{{ ',' if not loop.last }}
        {% endfor %}
    from stays

),

carried as (

    select
        patient_key,
        patient_id,
        stay_id,
        admitted_at,
        max(gender) over (partition by patient_key, gender_group) as gender,
        coalesce(max(age_band) over (partition by patient_key, age_band_group), 'unknown') as age_band,
        max(insurance_type) over (partition by patient_key, insurance_type_group) as insurance_type
    from grouped

),

hashed as (

    select
        carried.*,
        {{ attributes_hash(tracked_columns) }} as attributes_hash
    from carried

),

sequenced as (

    select
        hashed.*,
        lag(attributes_hash) over (
            partition by patient_key
            order by admitted_at, stay_id
        ) as previous_hash,
        row_number() over (
            partition by patient_key
            order by admitted_at desc, stay_id desc
        ) as recency
    from hashed

),

changes as (

    select
        patient_key,
        max(admitted_at) as attributes_changed_at
    from sequenced
    where previous_hash is null or previous_hash <> attributes_hash
    group by patient_key

),

final as (

    select
        ---------- keys
        sequenced.patient_key,

        ---------- source id
        sequenced.patient_id,

        ---------- tracked attributes
        {% for column in tracked_columns -%}
        sequenced.{{ column }},
        {% endfor %}
        ---------- change detection
        sequenced.attributes_hash,
        {{ to_utc_timestamp('changes.attributes_changed_at') }} as attributes_updated_at

    from sequenced
    inner join changes
        on changes.patient_key = sequenced.patient_key
    where sequenced.recency = 1

)

select * from final
