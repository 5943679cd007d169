-- ============================================================================
-- int_member_months
-- Who each payer covered in which month: usable rows of the newest roster
-- file of each payer and month (a file delivered twice counts once), one row
-- per payer, patient and eligibility month (a member listed twice counts
-- once; a row whose account links to no patient stays one row per member).
-- patient_key is the EHR patient key (system|patient id). The denominator of
-- every per-member-per-month figure.
-- ============================================================================

with

member_rows as (

    select
        *,
        row_number() over (
            partition by
                payer_code,
                patient_system,
                patient_id,
                case when patient_id is null then member_id end,
                eligibility_month
            order by file_date desc, batch_id desc, row_number
        ) as listing_rank
    from {{ ref('stg_eligibility__member_months') }}
    where quarantine_reason is null
        and not is_superseded

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['payer_code']) }} as payer_key,
        {{ optional_surrogate_key('patient_id', ['patient_system', 'patient_id']) }} as patient_key,

        ---------- natural ids (silver only)
        payer_code,
        member_id,
        patient_account,
        patient_system,
        patient_id,

        ---------- coverage
        eligibility_month,
        product,
        plan_type

    from member_rows
    where listing_rank = 1

)

select * from final
