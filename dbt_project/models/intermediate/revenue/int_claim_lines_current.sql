-- ============================================================================
-- int_claim_lines_current
-- Payer claim lines after the superseding rule: usable rows of the newest
-- file of each payer and adjudication month only. One row per payer, claim
-- line and adjudication month (a line pending in one month's file is paid or
-- denied in a later month's). charge_key links the line to the billing
-- charge it claims (line_control_number = the charge's transaction id).
-- Incremental: each build recomputes only the payer months that lines of new
-- bronze loads belong to (their newest file may have changed), from every
-- staged line of those months; the pre-hook first deletes them, as a re-sent
-- file may drop lines. _dlt_load_id (the kept line's load) is the watermark.
-- ============================================================================

{% set touched %}{{ touched_payer_months(ref('stg_claims__claim_lines'), 'claim_month') }}{% endset %}

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['payer_feed_code', 'claim_month'],
    indexes=[load_id_index(), {'columns': ['payer_feed_code', 'claim_month']}],
    pre_hook="{{ delete_touched_keys(['payer_feed_code', 'claim_month'],
        touched_payer_months(ref('stg_claims__claim_lines'), 'claim_month')) }}",
) }}

with

claim_lines as (

    select * from {{ ref('stg_claims__claim_lines') }}
    where quarantine_reason is null
        and not is_superseded
        {% if incremental_build() %}
        and ({{ payer_month_partition('claim_month') }}) in ({{ touched }})
        {% endif %}

),

payers as (

    select payer_code, claims_feed_code from {{ ref('payers') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['claim_lines.payer_feed_code', 'claim_lines.claim_id', 'claim_lines.claim_line']) }} as claim_line_key,
        {{ surrogate_key(['claim_lines.payer_feed_code', 'claim_lines.claim_id']) }} as claim_key,
        {{ optional_surrogate_key('claim_lines.billing_system', ['claim_lines.billing_system', 'claim_lines.line_control_number']) }} as charge_key,
        {{ optional_surrogate_key('claim_lines.billing_system', ['claim_lines.billing_system', 'claim_lines.patient_account']) }} as account_key,
        -- a feed whose payer is not in the payers seed yet keeps its feed code (dim_payer infers it)
        {{ surrogate_key(["coalesce(payers.payer_code, upper(claim_lines.payer_feed_code))"]) }} as payer_key,

        ---------- natural ids (silver only)
        claim_lines.payer_feed_code,
        coalesce(payers.payer_code, upper(claim_lines.payer_feed_code)) as payer_code,
        claim_lines.claim_id,
        claim_lines.claim_line,
        claim_lines.billing_system,
        claim_lines.line_control_number,
        claim_lines.patient_account,
        claim_lines.provider_npi,

        ---------- codes
        claim_lines.claim_status,
        claim_lines.denial_reason_code,
        claim_lines.plan_type,

        ---------- dates
        claim_lines.claim_month,
        claim_lines.service_date,
        claim_lines.submitted_date,
        claim_lines.paid_date,

        ---------- amounts
        claim_lines.billed_amount,
        claim_lines.allowed_amount,
        claim_lines.paid_amount,

        ---------- lineage
        claim_lines.source_file,
        claim_lines.file_date,
        claim_lines.row_number,
        claim_lines._dlt_load_id,
        claim_lines._dq_flags

    from claim_lines
    left join payers
        on payers.claims_feed_code = claim_lines.payer_feed_code

)

select * from final
