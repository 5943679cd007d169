-- ============================================================================
-- int_pharmacy_fills_current
-- The pharmacy fills the payers paid, as of their newest files: usable paid
-- rows of the newest file of each payer and fill month (a file delivered
-- twice counts once), without the fills a reversal cancelled (a reversed row
-- of the same payer and rx_claim_id in a current file, whatever its other
-- values). One row per payer and rx_claim_id. Keys meet the clinical models:
-- patient_key is the EHR patient key (system|patient id), practitioner_key
-- the EHR practitioner of that system with the prescriber's NPI (null when
-- the EHR has no such practitioner).
-- Incremental: each build recomputes only the fills (payer, rx_claim_id) that
-- appear in the payer months new bronze loads touched (a newer file replaced
-- their month's file, or a reversal arrived), from every current staged row of
-- those fills (the pre-hook first deletes them: a fill may be gone now), and
-- the fills here whose prescriber resolves to another practitioner today.
-- _dlt_load_id (the kept row's load) is the watermark.
-- ============================================================================

{% set touched_fills = touched_payer_month_keys(ref('stg_pharmacy__fills'), 'file_month', ['payer_code', 'rx_claim_id']) %}

{{ config(
    materialized='incremental',
    on_schema_change='fail',
    incremental_strategy='delete+insert',
    unique_key=['payer_code', 'rx_claim_id'],
    indexes=[load_id_index(), {'columns': ['payer_code', 'rx_claim_id']}],
    pre_hook="{{ delete_touched_keys(['payer_code', 'rx_claim_id'],
        touched_payer_month_keys(ref('stg_pharmacy__fills'), 'file_month', ['payer_code', 'rx_claim_id'])) }}",
) }}

with

practitioners as (

    -- one practitioner per system and NPI (the first id, should an EHR ever repeat an NPI)
    select
        source_system,
        npi,
        practitioner_key,
        row_number() over (
            partition by source_system, npi
            order by practitioner_id
        ) as npi_rank
    from {{ ref('cdm_practitioners') }}
    where npi is not null

),

{% if incremental_build() %}
-- the fills to recompute: those of the payer months new loads touched, and those whose
-- prescriber resolves to another practitioner than when they were built
touched as (

    {{ touched_fills }}

    union

    select previous.payer_code, previous.rx_claim_id
    from {{ this }} as previous
    left join practitioners
        on practitioners.source_system = previous.patient_system
        and practitioners.npi = previous.prescriber_npi
        and practitioners.npi_rank = 1
    where previous.practitioner_key is distinct from practitioners.practitioner_key

),

{% endif %}
current_rows as (

    select * from {{ ref('stg_pharmacy__fills') }}
    where not is_superseded
        {% if incremental_build() %}
        and (payer_code, rx_claim_id) in (select payer_code, rx_claim_id from touched)
        {% endif %}

),

reversals as (

    select distinct
        payer_code,
        rx_claim_id
    from current_rows
    where claim_status = 'reversed'
        and rx_claim_id is not null

),

paid_fills as (

    select
        current_rows.*,
        row_number() over (
            partition by current_rows.payer_code, current_rows.rx_claim_id
            order by current_rows.file_date desc, current_rows.batch_id desc, current_rows.row_number
        ) as fill_rank
    from current_rows
    left join reversals
        on reversals.payer_code = current_rows.payer_code
        and reversals.rx_claim_id = current_rows.rx_claim_id
    where current_rows.quarantine_reason is null
        and current_rows.claim_status = 'paid'
        and current_rows.rx_claim_id is not null
        and reversals.rx_claim_id is null

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['fills.payer_code', 'fills.rx_claim_id']) }} as pharmacy_fill_key,
        {{ surrogate_key(['fills.payer_code']) }} as payer_key,
        {{ optional_surrogate_key('fills.patient_id', ['fills.patient_system', 'fills.patient_id']) }} as patient_key,
        practitioners.practitioner_key,

        ---------- natural ids (silver only)
        fills.payer_code,
        fills.rx_claim_id,
        fills.member_id,
        fills.patient_account,
        fills.patient_system,
        fills.patient_id,
        fills.prescriber_npi,

        ---------- drug
        fills.ndc,
        fills.drug_name,
        fills.therapeutic_class,

        ---------- dates
        fills.fill_date,
        fills.fill_month,

        ---------- amounts
        fills.days_supply,
        fills.quantity,
        fills.paid_amount,
        fills.patient_paid_amount,

        ---------- lineage
        fills.source_file,
        fills.file_date,
        fills.batch_id,
        fills._dlt_load_id

    from paid_fills as fills
    left join practitioners
        on practitioners.source_system = fills.patient_system
        and practitioners.npi = fills.prescriber_npi
        and practitioners.npi_rank = 1
    where fills.fill_rank = 1

)

select * from final
