-- ============================================================================
-- cdm_facilities
-- Common data model: one row per facility (FHIR Location) of either EHR, with
-- the hospital (managing Organization) it belongs to. Keys are surrogate keys
-- of (source_system, source id), so overlapping ids never collide.
-- ============================================================================

with

locations as (

    select * from {{ ref('int_locations_deduplicated') }}

),

organizations as (

    select * from {{ ref('int_organizations_deduplicated') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['locations.source_system', 'locations.location_id']) }} as facility_key,
        {{ optional_surrogate_key('locations.managing_organization_id', ['locations.source_system', 'locations.managing_organization_id']) }} as organization_key,

        ---------- source ids
        locations.source_system,
        locations.location_id,
        locations.managing_organization_id as organization_id,

        ---------- facility
        locations.location_name as facility_name,
        locations.location_type_code as facility_type_code,
        locations.location_type_display as facility_type_display,
        locations.city,
        locations.state,
        locations.postal_code,

        ---------- hospital (managing organization)
        organizations.organization_name as hospital_name,
        organizations.organization_id is not null as has_known_organization,

        ---------- timestamps
        locations.source_last_updated_at,

        ---------- data quality
        locations._dq_flags

    from locations
    left join organizations
        on organizations.source_system = locations.source_system
        and organizations.organization_id = locations.managing_organization_id

)

select * from final
