"""The landing zone's blocking check: every batch matches its manifest (see
``orchestration.assets.landing_audit``). Metadata names batches, files and counts, never data."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from ingestion.landing_audit import open_problems
from orchestration.assets.keys import LANDING_BATCHES_KEY
from warehouse.settings import get_settings

_LISTED = 20  # batches named in the check's metadata; bronze.landing__batches holds all of them


@asset_check(
    asset=LANDING_BATCHES_KEY,
    blocking=True,
    description="Every landing batch matches its manifest: no listed file missing or changed, no stray "
    "file, no batch without a manifest past the grace period.",
)
def landing_batches_match_their_manifests() -> AssetCheckResult:
    problems = open_problems(get_settings())
    listing = "\n".join(f"- `{p.batch_path}` ({p.status}): {p.problems}" for p in problems[:_LISTED])
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "open_problems": len(problems),
            **({"batches": MetadataValue.md(listing)} if problems else {}),
        },
    )
