"""Landing-zone assets (Dagster edge): what the plant has dropped, by system and site."""
# No `from __future__ import annotations` here: Dagster reads the context type hint at runtime.

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.landing_files import inventory, summarise
from orchestration.resources import PlantPaths


@asset(group_name="landing", description="Every file in the landing zone with its sha256.")
def landing_inventory(context: AssetExecutionContext, paths: PlantPaths) -> MaterializeResult:
    root = paths.landing_path()
    files = inventory(root)
    by_system = summarise(files)
    distinct = len({f.sha256 for f in files})
    context.log.info("landing zone %s: %d files, %d distinct contents", root, len(files), distinct)
    rows = [
        f"| {system} | {site} | {n} |"
        for system, sites in sorted(by_system.items())
        for site, n in sorted(sites.items())
    ]
    table = "| system | site | files |\n| --- | --- | --- |\n" + "\n".join(rows)
    return MaterializeResult(
        metadata={
            "files": len(files),
            "distinct_contents": distinct,
            "bytes": sum(f.size for f in files),
            "by_system": MetadataValue.md(table),
            "landing_root": str(root),
        }
    )
