-- ============================================================================
-- int_member_months
-- Who each payer covered in which month: usable rows of the newest roster
-- file of each payer and month (a file delivered twice counts once), one row
-- per payer, patient and eligibility month (a member listed twice counts
-- once; a row whose account links to no patient stays one row per member).
-- patient_key is the EHR patient key (system|patient id). The denominator of
-- every per-member-per-month figure.
-- Incremental: each build recomputes only the payer and eligibility months
-- listed in the payer months new bronze loads touched (a newer roster may
-- have replaced their file), from every current staged row of them; the
-- pre-hook first deletes them (a member may be gone from the newer roster).
-- _dlt_load_id (the kept listing's load) is the watermark.
-- ============================================================================

{% set touched_months = touched_payer_month_keys(ref('stg_eligibility__member_months'), 'file_month', ['payer_code', 'eligibility_month']) %}

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['payer_code', 'eligibility_month'],
    indexes=[load_id_index(), {'columns': ['payer_code', 'eligibility_month']}],
    pre_hook="{{ delete_touched_keys(['payer_code', 'eligibility_month'],
        touched_payer_month_keys(ref('stg_eligibility__member_months'), 'file_month', ['payer_code', 'eligibility_month'])) }}",
) }}

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
        {% if incremental_build() %}
        and (payer_code, eligibility_month) in ({{ touched_months }})
        {% endif %}

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
        plan_type,

        ---------- lineage (the kept listing's load)
        _dlt_load_id

    from member_rows
    where listing_rank = 1

)

select * from final
