-- ============================================================================
-- cdm_practitioners
-- Common data model: one row per practitioner of either EHR with the current
-- role: department (the role's specialty, NUCC taxonomy), facility and
-- organization. The current role is the active PractitionerRole changed
-- last; a practitioner without one keeps null role columns.
-- source_last_updated_at / roles_last_updated_at / ingested_at say when the
-- source last changed the practitioner and any of their roles: they date the
-- SCD2 versions (int_practitioners_tracked).
-- ============================================================================

with

practitioners as (

    select * from {{ ref('int_practitioners_deduplicated') }}

),

roles as (

    select * from {{ ref('int_practitioner_roles_deduplicated') }}

),

ranked_active_roles as (

    select
        roles.*,
        row_number() over (
            partition by source_system, practitioner_id
            order by source_last_updated_at desc nulls last, batch_id desc, line_number desc, practitioner_role_id desc
        ) as role_rank,
        count(*) over (partition by source_system, practitioner_id) as active_roles
    from roles
    where is_active

),

current_roles as (

    select * from ranked_active_roles
    where role_rank = 1

),

role_changes as (

    -- every role counts, active or not: a deactivation is a change too
    select
        source_system,
        practitioner_id,
        max(source_last_updated_at) as roles_last_updated_at
    from roles
    group by source_system, practitioner_id

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['practitioners.source_system', 'practitioners.practitioner_id']) }} as practitioner_key,
        {{ optional_surrogate_key('current_roles.location_id', ['current_roles.source_system', 'current_roles.location_id']) }} as facility_key,
        {{ optional_surrogate_key('current_roles.organization_id', ['current_roles.source_system', 'current_roles.organization_id']) }} as organization_key,

        ---------- source ids
        practitioners.source_system,
        practitioners.practitioner_id,
        practitioners.npi,

        ---------- names
        practitioners.family_name,
        practitioners.given_name,
        practitioners.name_prefix,

        ---------- current role: department and place of work
        current_roles.practitioner_role_id,
        current_roles.specialty_code,
        current_roles.specialty_display,
        current_roles.location_id,
        current_roles.organization_id,
        coalesce(current_roles.active_roles, 0) as active_roles,

        ---------- timestamps
        practitioners.source_last_updated_at,
        role_changes.roles_last_updated_at,
        practitioners.ingested_at,

        ---------- data quality
        practitioners._dq_flags

    from practitioners
    left join current_roles
        on current_roles.source_system = practitioners.source_system
        and current_roles.practitioner_id = practitioners.practitioner_id
    left join role_changes
        on role_changes.source_system = practitioners.source_system
        and role_changes.practitioner_id = practitioners.practitioner_id

)

select * from final
