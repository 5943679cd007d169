-- ============================================================================
-- stg_eligibility__member_months
-- One row per bronze eligibility row of every payer roster file, typed: a
-- member covered by the payer on any day of eligibility_month. The file name
-- carries the coverage month (eligibility_<payer>_<YYYY-MM>.csv):
-- is_superseded marks rows of a file that a newer file of the same payer and
-- month replaced (delivered twice or resubmitted). The patient account
-- (ATH/EPC + 7 digits) links to the EHR patient: patient_system + patient_id
-- (the digits without leading zeros, as the EHR's FHIR id).
-- quarantine_reason (null = usable); never filters.
-- ============================================================================

{% set rules = [
    {'name': 'invalid_date', 'quarantine': true,
     'when': "eligibility_month is null"},
    {'name': 'duplicate_row', 'quarantine': true,
     'when': "copy_rank > 1"},
] %}

with

source as (

    select * from {{ source('eligibility', 'eligibility__member_months') }}

),

renamed as (

    select
        ---------- ids
        source_system as payer_feed_code,
        upper(source_system) as payer_code,
        nullif(trim(member_id), '') as member_id,
        upper(nullif(trim(patient_account), '')) as patient_account,

        ---------- codes
        lower(nullif(trim(product), '')) as product,
        upper(nullif(trim(plan_type), '')) as plan_type,

        ---------- raw values (as sent)
        nullif(trim(eligibility_month), '') as raw_eligibility_month,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from source

),

typed as (

    select
        renamed.*,

        ---------- patient (the EHR's system and FHIR id)
        {{ account_patient_system('patient_account') }} as patient_system,
        {{ account_patient_id('patient_account') }} as patient_id,

        ---------- dates (the month's first day; any day of the month names the month)
        cast({{ dbt.date_trunc('month', safe_cast_date('raw_eligibility_month')) }} as date) as eligibility_month,
        {{ payer_file_month() }} as file_month,

        ---------- copies of one member month inside one file (1 = first)
        row_number() over (
            partition by source_file, member_id, raw_eligibility_month
            order by row_number
        ) as copy_rank

    from renamed

),

validated as (

    select
        typed.*,
        {{ dq_flags(rules) }} as _dq_flags,
        {{ quarantine_reason(rules) }} as quarantine_reason,
        -- the newest file (arrival day, then batch) of a payer and month replaces every earlier one
        {{ is_superseded_payer_file('file_month') }} as is_superseded
    from typed

),

final as (

    select
        ---------- ids
        payer_code,
        payer_feed_code,
        member_id,
        patient_account,
        patient_system,
        patient_id,

        ---------- codes
        product,
        plan_type,

        ---------- dates
        file_month,
        eligibility_month,

        ---------- data quality
        is_superseded,
        _dq_flags,
        quarantine_reason,
        raw_eligibility_month,

        ---------- lineage
        {{ feed_lineage_columns() }}

    from validated

)

select * from final
