-- ============================================================================
-- cdm_patients
-- Common data model: one row per patient of either EHR (current version,
-- PHI: silver only) with the primary care practitioner and the insurance in
-- force (the active coverage; when a feed ever sends several, the one that
-- started last wins and active_coverages says so).
-- source_last_updated_at / coverages_last_updated_at / ingested_at say when
-- the source last changed the patient and any of their coverages: they date
-- the SCD2 versions (int_patients_tracked).
-- ============================================================================

with

patients as (

    select * from {{ ref('int_patients_deduplicated') }}

),

coverages as (

    select * from {{ ref('cdm_coverages') }}

),

active_coverages as (

    select
        coverages.*,
        row_number() over (
            partition by patient_key
            order by period_start_date desc nulls last, source_last_updated_at desc nulls last, coverage_id desc
        ) as coverage_rank,
        count(*) over (partition by patient_key) as active_coverages
    from coverages
    where is_active

),

current_coverage as (

    select * from active_coverages
    where coverage_rank = 1

),

coverage_changes as (

    -- every coverage counts, active or not: a cancellation is a change too
    select
        patient_key,
        max(source_last_updated_at) as coverages_last_updated_at
    from coverages
    group by patient_key

),

final as (

    select
        ---------- keys
        patients.patient_key,
        {{ optional_surrogate_key('patients.general_practitioner_id', ['patients.source_system', 'patients.general_practitioner_id']) }} as primary_care_practitioner_key,
        current_coverage.coverage_key,

        ---------- source ids (PHI)
        patients.source_system,
        patients.patient_id,
        patients.mrn,
        patients.mrn_system,

        ---------- demographics (PHI)
        patients.family_name,
        patients.given_name,
        patients.gender,
        patients.birth_date,
        patients.address_line,
        patients.city,
        patients.state,
        patients.postal_code,
        patients.phone,
        patients.email,

        ---------- care team
        patients.general_practitioner_id as primary_care_practitioner_id,

        ---------- insurance in force
        current_coverage.insurance_type_code,
        current_coverage.payor_name,
        current_coverage.period_start_date as coverage_start_date,
        coalesce(current_coverage.active_coverages, 0) as active_coverages,

        ---------- timestamps
        patients.source_last_updated_at,
        coverage_changes.coverages_last_updated_at,
        patients.ingested_at,

        ---------- data quality
        patients._dq_flags

    from patients
    left join current_coverage
        on current_coverage.patient_key = patients.patient_key
    left join coverage_changes
        on coverage_changes.patient_key = patients.patient_key

)

select * from final
