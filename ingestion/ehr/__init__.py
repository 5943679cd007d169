"""The EHR source system: a FHIR R4 bulk-extract simulator and the dlt source that lands it in bronze."""
