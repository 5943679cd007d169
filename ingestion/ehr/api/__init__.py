"""The EHR's FHIR REST API path: a local FHIR-style server over the landing zone, and the dlt
source that pulls from it into the same bronze tables as the file path.

Server half: ``credentials`` (where the OAuth2 client id/secret come from), ``index`` (what is
served: the current version of each resource), ``search`` (filters, keyset paging, Bundles),
``tokens`` (expiring tokens, rate limits, limits on failed authentications), ``smart`` (SMART
Backend Services: signed JWT client assertions), ``bulk`` (Bulk Data ``$export`` jobs), ``app``
(the endpoints' behaviour) and ``server`` (HTTP plumbing, ``serve`` and ``run_server``). Loader
half: ``client`` (dlt ``RESTClient`` pieces), ``source`` (the dlt source) and ``pipeline``
(``load_ehr_api_to_bronze``); the Bulk Data client: ``bulk_keys`` (the client's key, key ids),
``bulk_client`` (``export_to_folder``) and ``bulk_load`` (``load_ehr_bulk_to_bronze``).
Import from those modules directly: nothing is re-exported here, so the server half does not
load the dlt source and pipeline machinery it never uses. ``README.md`` has the walkthrough.
"""
