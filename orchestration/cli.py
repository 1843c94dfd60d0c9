"""`biotwin` command line: generate demo data, run the pipeline in-process, open the UI.

Heavy imports (Dagster, the definitions) happen inside the commands that need them, so
`biotwin generate` stays quick and nothing touches the warehouse at import time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from biotwin.settings import ENGINES, PROJECT_ROOT, settings

ENGINE_HELP = (
    "what builds the marts: duckdb (default) or spark (make install-spark; docs/scale-out.md)"
)


def _generate(*args, **kwargs) -> dict:
    """synthetic.generate.generate, its stages said as they start: lines, or a bar of the
    batches simulated on a terminal (orchestration/console.py)."""
    from orchestration.console import console_for, counted
    from synthetic.generate import generate

    console, began = console_for(), time.monotonic()

    def say(text: str) -> None:
        if counted(text):
            console.progress("generate", text)
        else:
            console.line(text)

    console.begin("generate", "▶ generate started")
    try:
        doc = generate(*args, **kwargs, say=say)
    except BaseException:
        console.close()
        raise
    console.end("generate", f"■ generate done in {time.monotonic() - began:.1f} s")
    return doc


def _cmd_generate(args: argparse.Namespace) -> int:
    fmt = None if args.historian_format == "site" else args.historian_format
    doc = _generate(
        Path(args.out),
        args.batches,
        args.seed,
        args.start,
        args.fault_fraction,
        fmt,
        args.fedbatch_batches,
    )
    _print_generate_summary(Path(args.out), doc)
    return 0


def _missing_warehouse() -> bool:
    """True, after saying so and what to run, when the warehouse does not exist yet."""
    warehouse = settings().warehouse
    if warehouse.exists():
        return False
    print(
        f"biotwin: no warehouse at {warehouse}: run `make demo` or `biotwin run` first",
        file=sys.stderr,
    )
    return True


def _published_file(as_of: str | None = None) -> Path | None:
    """The published state a reader command reads (the newest, or as of a run or time), or
    None after saying why there is none (docs/queries.md). Readers never open the warehouse a
    run writes, so they never wait for a run or meet its lock."""
    from biotwin.publication import NotPublished
    from biotwin.publication import as_of as find

    folder = settings().published_dir
    try:
        chosen = find(folder, as_of)
    except NotPublished as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return None
    if as_of is not None:  # say which state answers, on stderr (stdout stays the answer)
        print(
            f"as of publication {chosen.seq}: run {chosen.run_id[:8]}, "
            f"published {chosen.published_at}",
            file=sys.stderr,
        )
    return chosen.path(folder)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _print_generate_summary(out: Path, doc: dict) -> None:
    print(f"wrote synthetic plant to {out}")
    print(f"  batches: {len(doc['batches'])}  extract at: {doc['generator']['extract_at_utc']}")
    for system, sites in doc["files"].items():
        print(f"  {system:<12} " + "  ".join(f"{s}: {n} files" for s, n in sites.items()))
    print(f"  historian rows: {doc['historian_rows']:,}  planted mess items: {len(doc['mess'])}")


def instance_config(env) -> str:
    """The instance's dagster.yaml: the project's template (SQLite under DAGSTER_HOME), with
    runs, events and schedules on PostgreSQL when BIOTWIN_DAGSTER_POSTGRES_URL is set (read
    from the environment by Dagster: the file holds no credentials). Written again whenever
    the choice changes, so it is generated, never edited by hand."""
    text = (Path(__file__).parent / "dagster.yaml").read_text()
    if env.get("BIOTWIN_DAGSTER_POSTGRES_URL"):
        text += (
            "# runs, events and schedules on PostgreSQL (BIOTWIN_DAGSTER_POSTGRES_URL)\n"
            "storage:\n  postgres:\n    postgres_url:\n"
            "      env: BIOTWIN_DAGSTER_POSTGRES_URL\n"
        )
    return text


def _instance():
    """The persistent Dagster instance under $BIOTWIN_HOME/dagster (what `biotwin ui` shows)."""
    from dagster import DagsterInstance

    home = settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    # two first runs on an empty home would both create Dagster's SQLite tables and one fails
    # ("table jobs already exists"): the storage is created once, under a lock on the folder
    with _folder_lock(home / ".instance.lock"):
        config = home / "dagster.yaml"
        wanted = instance_config(os.environ)
        if not config.exists() or config.read_text() != wanted:
            config.write_text(wanted)
        instance = DagsterInstance.get()
        # touch the run, schedule and event storage: each creates its SQLite tables on first use
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.event_log_storage.get_concurrency_keys()
    return instance


@contextlib.contextmanager
def _folder_lock(path: Path):
    """An exclusive flock held for the block (released by the kernel if the holder dies)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _execute(select: str | None, log_level: str):
    from orchestration.dbt_cli import prepare_manifest

    prepare_manifest()  # the dbt assets read target/manifest.json when the definitions load
    from orchestration.definitions import defs
    from orchestration.lineage_runs import record_changed_runs
    from orchestration.recovery import pool_holders, recover, run_tags

    began = datetime.now(UTC) - timedelta(seconds=1)
    job = defs.resolve_job_def("main")
    keys = selected_keys(defs, select.split(",")) if select else None
    instance = _instance()
    # a run killed earlier must not wedge this one (its pool slot, an orphaned dbt)
    for line in recover(instance, settings().warehouse):
        print(line)
    for line in pool_holders(instance):  # a live run beside this one: say so, and for whom
        print(line, flush=True)
    result = job.execute_in_process(
        instance=instance,
        asset_selection=keys,
        raise_on_error=False,
        tags=run_tags(),
        # the console gets warnings, a line per step as it starts and ends, the assets' progress
        # lines, and the summary; every event is in the instance (biotwin ui)
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}, "progress": {}}},
    )
    # no daemon watches an in-process run: its own lineage events, and those of a run that
    # recovery just marked failed, are written here
    record_changed_runs(instance, began, settings().lineage_dir)
    return result


def _use_engine(args: argparse.Namespace) -> None:
    """`--engine` for this process and the dbt it starts (BIOTWIN_ENGINE, biotwin.settings)."""
    if getattr(args, "engine", None):
        os.environ["BIOTWIN_ENGINE"] = args.engine
    settings()  # an unknown BIOTWIN_ENGINE is a ValueError: named, no traceback


def _cmd_run(args: argparse.Namespace) -> int:
    _use_engine(args)
    try:
        result = _execute(args.select, args.log_level)
    except UnknownSelection as exc:
        print(f"biotwin run: {exc}", file=sys.stderr)
        return 2
    _print_run_summary(result)
    _print_failure(result)
    return 0 if result.success else 1


def _print_failure(result) -> None:
    """A failed run ends with what failed, why and what to run next (never a traceback)."""
    if result.success:
        return
    import json

    from orchestration.dbt_cli import MANIFEST
    from orchestration.run_summary import failure_report, test_tables

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    print("\n".join(failure_report(result, test_tables(manifest))))


class UnknownSelection(ValueError):
    """A `--select` name that is neither an asset key nor an asset definition's name."""


def selected_keys(defs, names: list[str]) -> list:
    """Asset keys for `--select`: each name an asset key (`marts/dim_batch`) or the name of a
    definition that writes several (`dbt_models`: every dbt model). An unknown name raises
    UnknownSelection naming it and some that exist (Dagster's own error is a traceback)."""
    from dagster import AssetKey

    graph = defs.resolve_asset_graph()
    by_name: dict[str, list] = {}
    for node in graph.asset_nodes:
        if node.assets_def.computation is not None:
            by_name.setdefault(node.assets_def.node_def.name, []).append(node.key)
    known = {node.key for node in graph.asset_nodes if node.is_materializable}
    keys, unknown = [], []
    for name in (n.strip() for n in names if n.strip()):
        key = AssetKey(name.split("/"))
        if key in known:
            keys.append(key)
        elif name in by_name:
            keys.extend(k for k in by_name[name] if k in known)
        else:
            unknown.append(name)
    if unknown:
        examples = ", ".join(sorted(by_name)[:8])
        raise UnknownSelection(
            f"no asset or asset definition named {', '.join(unknown)}; use an asset key "
            f"(schema/name, e.g. marts/dim_batch) or a definition's name (e.g. {examples}); "
            "`biotwin ui` lists them all"
        )
    return keys


def _print_run_summary(result) -> None:
    from dagster import MarkdownMetadataValue

    print(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        # numbers and short texts; tables and plots (markdown) are for the UI
        meta = {
            k: v.value for k, v in mat.metadata.items() if not isinstance(v, MarkdownMetadataValue)
        }
        print(f"  {mat.asset_key.to_user_string()}: {meta}")
    for event in result.get_asset_check_evaluations():
        status = "passed" if event.passed else f"{event.severity.value.lower()}"
        print(f"  check {event.asset_key.to_user_string()}:{event.check_name}: {status}")
    _print_ledger()


def _print_ledger() -> None:
    """Files by status and rows per system, from the ledger (read-only)."""
    from assets.ingest.run import ledger_summary
    from biotwin.warehouse import connect, table_exists

    warehouse = settings().warehouse
    if not warehouse.exists():
        return
    con = connect(warehouse, read_only=True)
    try:
        if not table_exists(con, "raw", "file_ledger"):
            print("\nfile ledger: empty (no landing file has been ingested yet)")
            return
        rows = ledger_summary(con)
    finally:
        con.close()
    print("\nfile ledger:")
    print(
        f"  {'system':<12} {'status':<17} {'files':>6} {'rows read':>11} {'loaded':>11} "
        f"{'quarantined':>11}"
    )
    for system, status, files, read, loaded, quarantined in rows:
        print(
            f"  {system:<12} {status:<17} {files:>6} {read:>11,} {loaded:>11,} {quarantined:>11,}"
        )


def _cmd_demo(args: argparse.Namespace) -> int:
    _use_engine(args)
    s = settings()
    if not (s.home / "manifest.json").exists():
        print(f"no demo landing zone under {s.home}: generating {args.batches} batches")
        doc = _generate(s.home, args.batches, args.seed)
        _print_generate_summary(s.home, doc)
    else:
        print(f"using the existing demo landing zone under {s.home}")
    result = _execute(None, "WARNING")
    _print_run_summary(result)
    _print_marts_summary()
    _print_failure(result)
    return 0 if result.success else 1


def _print_marts_summary() -> None:
    """Row counts of every mart and the data-quality issues, from the published state."""
    from biotwin.publication import NotPublished, current
    from biotwin.query import (
        DQ_SUMMARY_SQL,
        READINESS_SUMMARY_SQL,
        format_table,
        mart_row_counts,
        run_query,
    )

    folder = settings().published_dir
    try:
        warehouse = current(folder).path(folder)  # what readers now see
    except NotPublished:  # the run failed before publishing: its failure report follows
        return
    columns, rows = mart_row_counts(warehouse)
    if not rows:
        return
    print("\nmarts:")
    print(format_table(columns, rows))
    if any(mart == "dq_issues" for mart, _ in rows):
        print("\ndata-quality issues (marts.dq_issues):")
        print(format_table(*run_query(warehouse, DQ_SUMMARY_SQL)))
    if any(mart == "batch_release_readiness" for mart, _ in rows):
        print("\nrelease readiness (marts.batch_release_readiness; biotwin release dossier):")
        print(format_table(*run_query(warehouse, READINESS_SUMMARY_SQL)))


class _Damaged(Exception):
    """The warehouse file cannot be read; the message is the one line to print."""


def _read_checked(read):
    """`read(con)` on the warehouse, read-only, after checking the file is whole; _Damaged
    with one line (the damage and where the recovery procedure is) if it is not."""
    import duckdb

    from biotwin.warehouse import connect, cut_short

    warehouse = settings().warehouse
    try:
        con = connect(warehouse, read_only=True)
        try:
            short = cut_short(con, warehouse)
            if short:
                raise duckdb.IOException(short)
            return read(con)
        finally:
            con.close()
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise _Damaged(
            f"biotwin: warehouse {warehouse} is damaged ({type(exc).__name__}: {first}); "
            "rebuild it from the landing zone: docs/operations.md, 'A damaged warehouse'"
        ) from None


def _reading(read):
    """(None, `read(con)`) on the checked warehouse, or (exit code, None) after saying why
    not: 2 when there is no warehouse yet, 1 when it is damaged."""
    if _missing_warehouse():
        return 2, None
    try:
        return None, _read_checked(read)
    except _Damaged as exc:
        print(exc, file=sys.stderr)
        return 1, None


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk the hash chain of audit.audit_log and hold it to its anchors and the file ledger
    (read-only); exit 1 with one line naming what is wrong."""
    from lineage.audit_log import verify_log

    failed, verdict = _reading(verify_log)
    if failed is not None:
        return failed
    print(verdict.message(), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _writing():
    """(None, a read-write connection) on the warehouse, waiting while a run holds it, or
    (exit code, None) after saying why not: 2 when there is none yet, 1 when it stays busy."""
    from biotwin.warehouse import WarehouseBusy, open_waiting

    if _missing_warehouse():
        return 2, None
    try:
        return None, open_waiting(settings().warehouse, read_only=False, say=_to_stderr)
    except WarehouseBusy as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return 1, None


def _cmd_audit_acknowledge(args: argparse.Namespace) -> int:
    """After a person reviewed the entries `audit verify` says no anchor vouches for: record
    the review in the log and anchor them (docs/gmp.md)."""
    import getpass

    from lineage.audit_log import NothingToAcknowledge, acknowledge

    failed, con = _writing()
    if failed is not None:
        return failed
    try:
        actor = f"{getpass.getuser()} via biotwin audit acknowledge"
        print(acknowledge(con, args.through, args.reason, actor))
    except NothingToAcknowledge as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def _cmd_release_dossier(args: argparse.Namespace) -> int:
    """Write one batch's release dossier from the warehouse (waits while a run writes it) and
    record the files' sha256 in the audit log."""
    import getpass

    from release.dossier import DossierError, write_dossier

    failed, con = _writing()
    if failed is not None:
        return failed
    try:
        actor = f"{getpass.getuser()} via biotwin release dossier"
        written = write_dossier(con, args.batch, Path(args.out), actor)
    except DossierError as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    for path, digest in written.files.items():
        print(f"wrote {path} (sha256 {digest[:16]}…)")
    print(f"verdict: {written.verdict}; recorded in audit entry {written.audit_seq}")
    return 0


def _cmd_release_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the file is byte for byte a dossier the audit log recorded, else 1."""
    from release.dossier import verify_file

    path = Path(args.file)
    if not path.is_file():
        print(f"biotwin: {path}: no such file", file=sys.stderr)
        return 2
    failed, verdict = _reading(lambda con: verify_file(con, path))
    if failed is not None:
        return failed
    print(verdict.message, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _cmd_warehouse_check(args: argparse.Namespace) -> int:
    """Read every table of the warehouse in full (read-only): a truncated or damaged file is
    reported in one line, with the recovery procedure to follow."""
    from biotwin.warehouse import read_every_table

    warehouse = settings().warehouse
    failed, tables = _reading(read_every_table)
    if failed is not None:
        return failed
    print(
        f"warehouse {warehouse}: {len(tables)} tables read in full, "
        f"{sum(n for _, n in tables):,} rows"
    )
    return 0


def _cmd_lineage_ship(args: argparse.Namespace) -> int:
    """Deliver pending OpenLineage events from the outbox to the configured backend."""
    from lineage.backend import lineage_endpoint
    from lineage.outbox import Outbox, ShipperBusy, ship

    s = settings()
    endpoint = lineage_endpoint(os.environ, s.home, args.url)
    if not endpoint:
        print(
            "biotwin: no lineage backend: set OPENLINEAGE_URL, write an openlineage.yml "
            "or pass --url",
            file=sys.stderr,
        )
        return 2
    try:
        result = ship(Outbox(s.lineage_dir), endpoint, retries=args.retries)
    except ShipperBusy as exc:
        print(f"biotwin: {exc}; it delivers the pending events, nothing sent by this one")
        return 0
    print(result.summary())
    return 0 if result.pending == 0 else 1


def _cmd_trace(args: argparse.Namespace) -> int:
    """The path of one conformed row back to its raw record, file and reference rows."""
    import json

    from biotwin.warehouse import connect
    from lineage.trace import TraceError, format_trace, trace
    from orchestration.dbt_cli import MANIFEST, prepare_manifest

    s = settings()
    published = _published_file(args.as_of)
    if published is None:
        return 2
    prepare_manifest()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    con = connect(published, read_only=True)
    try:
        doc = trace(con, manifest, args.table, args.key, landing=s.landing)
    except TraceError as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(json.dumps(doc, indent=2, default=str) if args.json else format_trace(doc))
    return 0


def _cmd_onboard_check(args: argparse.Namespace) -> int:
    """Dry run of a site's landing folders against the reference rows (writes nothing)."""
    from assets.onboard import check_site, format_report

    s = settings()
    report = check_site(s.landing, s.reference, args.site, every=args.all)
    print("\n".join(format_report(report)))
    return 1 if report.blocking else 0


def _parse_sets(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set {pair!r}: expected name=number") from None
    return out


def _cmd_twin_simulate(args: argparse.Namespace) -> int:
    """What-if on the process's registered growth model: the batch as run and as changed."""
    import json

    from twin.simulate import OutOfRange, SimulationUnavailable, simulate_batch

    published = _published_file(args.as_of)
    if published is None:
        return 2
    try:
        result = simulate_batch(published, args.batch, _parse_sets(args.set))
    except SimulationUnavailable as exc:
        print(f"biotwin: {exc}", file=sys.stderr)
        return 3
    except (OutOfRange, ValueError) as exc:  # ValueError: a --set that is not name=number
        print(f"biotwin: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=float) if args.json else result["text"])
    return 0


def _cmd_twin_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from lineage.code_version import code_version
    from twin.data import read_marts, read_twin_table
    from twin.report import batch_report

    warehouse = _published_file(args.as_of)
    if warehouse is None:
        return 2
    data = read_marts(warehouse)
    page = batch_report(
        data,
        args.batch,
        read_twin_table(warehouse, "golden_envelope"),
        read_twin_table(warehouse, "batch_monitoring", "WHERE batch_id = ?", [args.batch]),
        read_twin_table(warehouse, "outcome_forecast", "WHERE batch_id = ?", [args.batch]),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        code_version=code_version(),
        soft_sensor=read_twin_table(warehouse, "soft_sensor", "WHERE batch_id = ?", [args.batch]),
    )
    Path(args.out).write_text(page, encoding="utf-8")
    print(f"wrote {args.out} ({len(page):,} bytes)")
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    from biotwin.query import QueryRefused, format_csv, format_table, run_query

    # --live: the file runs write (after a failed run, which published nothing, its test
    # failures and quarantine are only there); waits while a run holds it
    source = settings().warehouse if args.live else _published_file(args.as_of)
    if source is None:
        return 2
    try:
        columns, rows = run_query(source, args.sql)
    except QueryRefused as exc:
        print(f"biotwin: query refused: {exc}", file=sys.stderr)
        return 1
    except duckdb.PermissionException as exc:
        print(
            f"biotwin: query refused: {exc}\n  biotwin query reads the warehouse and nothing "
            "else: no files, no ATTACH, no extensions (docs/queries.md)",
            file=sys.stderr,
        )
        return 1
    except duckdb.Error as exc:
        print(f"biotwin: query failed: {exc}", file=sys.stderr)
        return 1
    if args.csv:
        print(format_csv(columns, rows), end="")
    else:
        print(format_table(columns, rows))
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    """dbt's documentation of every model and column, built against the warehouse (the catalog
    needs the built tables): one static page that opens from disk, or served on 127.0.0.1."""
    from orchestration.dbt_cli import DBT_DIR, dbt_executable

    s = settings()
    if _missing_warehouse():
        return 2
    out = s.home / "dbt-docs"
    cmd = [
        dbt_executable(),
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(out),
        "--log-path",
        str(out / "logs"),
        "--quiet",
    ]
    env = {**os.environ, "BIOTWIN_WAREHOUSE": str(s.warehouse)}
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, check=False)  # noqa: S603 - fixed argv
    page = out / "static_index.html"
    if done.returncode != 0 or not page.exists():
        print(f"biotwin: dbt docs generate failed (log: {out / 'logs'})", file=sys.stderr)
        return 1
    print(f"dbt docs: {page} (one file: open it in a browser, no server needed)")
    if not args.serve:
        return 0
    from orchestration.static_server import make_server

    with make_server(out, args.port) as server:
        print(f"serving http://127.0.0.1:{args.port}/static_index.html (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from orchestration.dbt_cli import prepare_manifest

    prepare_manifest()  # the definitions read target/manifest.json; nothing parses at load
    s = settings()
    _instance()  # makes sure the instance folder and its dagster.yaml exist
    # the twin assets' plots, which the UI shows by URL (assets/twin_plots.py)
    from orchestration.static_server import serve_in_background

    server, line = serve_in_background(s.reports_dir, s.reports_url)
    print(line, flush=True)
    env = {**os.environ, "DAGSTER_HOME": str(s.dagster_home)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    cmd = [
        dagster,
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    try:
        return subprocess.call(cmd, cwd=PROJECT_ROOT, env=env)  # noqa: S603 - fixed argv
    finally:
        if server is not None:
            server.shutdown()


def _cmd_warehouse_fingerprint(args: argparse.Namespace) -> int:
    """What two builds of the same landing zone compare (biotwin/fingerprint.py)."""
    import json

    from biotwin.fingerprint import table_fingerprints

    failed, found = _reading(table_fingerprints)
    if failed is not None:
        return failed
    if args.json:
        print(json.dumps({t: {"rows": n, "md5": h} for t, (n, h) in found.items()}, indent=1))
    else:
        for table, (rows, digest) in found.items():
            print(f"{table:<36} {rows:>10,}  {digest}")
    return 0


def _as_of_option(parser) -> None:
    """`--as-of` of every reader command (docs/queries.md)."""
    parser.add_argument(
        "--as-of",
        default=None,
        metavar="RUN|TIME",
        help="read the state published by a run (its id or first characters) or as of a time "
        "(ISO 8601, UTC if no zone); default: the newest",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biotwin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic plant's landing zone")
    gen.add_argument("--out", required=True, help="output folder (landing/, reference/, ...)")
    gen.add_argument("--batches", type=int, default=24)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help="first day of the period (default 2026-10-19: DST changes inside)",
    )
    gen.add_argument(
        "--fault-fraction",
        type=float,
        default=0.15,
        help="share of batches with an injected process fault",
    )
    gen.add_argument(
        "--historian-format",
        choices=["site", "csv"],
        default="site",
        help="site: each site's own interface (default); csv: every site "
        "exports CSV (for benchmarks of the CSV path)",
    )
    gen.add_argument(
        "--fedbatch-batches",
        type=int,
        default=None,
        help="batches of the third site, CRK's antibody fed-batch (default: half of --batches, "
        "8 to 24; 0 leaves the site out)",
    )
    gen.set_defaults(func=_cmd_generate)

    run = sub.add_parser("run", help="materialise the pipeline in-process")
    run.add_argument("--select", default=None, help="comma-separated asset keys (a/b for a.b)")
    run.add_argument("--log-level", default="WARNING", help="Dagster console log level")
    run.add_argument("--engine", choices=ENGINES, default=None, help=ENGINE_HELP)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="generate the demo plant if absent, then run everything")
    demo.add_argument("--batches", type=int, default=24)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--engine", choices=ENGINES, default=None, help=ENGINE_HELP)
    demo.set_defaults(func=_cmd_demo)

    compare = sub.add_parser(
        "compare-engines",
        help="build one plant on DuckDB and on Spark and compare every mart (docs/scale-out.md)",
    )
    compare.add_argument("--home", type=Path, default=Path(".biotwin-engines"))
    compare.add_argument("--batches", type=int, default=12)
    compare.add_argument("--seed", type=int, default=7)
    compare.set_defaults(func=_cmd_compare_engines)

    query = sub.add_parser("query", help="SQL on the published state, read-only (docs/queries.md)")
    query.add_argument("sql", help='one SQL statement, e.g. "SELECT * FROM marts.dim_batch"')
    query.add_argument("--csv", action="store_true", help="CSV instead of a text table")
    reading = query.add_mutually_exclusive_group()
    _as_of_option(reading)
    reading.add_argument(
        "--live",
        action="store_true",
        help="read the warehouse runs write, not the published state (e.g. a failed run's "
        "test failures); waits while a run holds it",
    )
    query.set_defaults(func=_cmd_query)

    trace_cmd = sub.add_parser("trace", help="where one conformed row comes from")
    trace_cmd.add_argument("table", help="a mart, e.g. fct_process_timeseries or marts.dim_batch")
    trace_cmd.add_argument("key", help="_record_id, the mart's id (batch_id…) or a result_id")
    trace_cmd.add_argument("--json", action="store_true", help="JSON for machines")
    _as_of_option(trace_cmd)
    trace_cmd.set_defaults(func=_cmd_trace)

    twin = sub.add_parser("twin", help="the digital twin (docs/twin.md)")
    twin_sub = twin.add_subparsers(dest="twin_command", required=True)
    sim = twin_sub.add_parser("simulate", help="what-if on the growth model for one batch")
    sim.add_argument("--batch", required=True)
    sim.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="seeding_density=… (batch record unit) or harvest_day=… (culture days)",
    )
    sim.add_argument("--json", action="store_true")
    _as_of_option(sim)
    sim.set_defaults(func=_cmd_twin_simulate)
    report = twin_sub.add_parser("report", help="self-contained HTML report of one batch")
    report.add_argument("--batch", required=True)
    report.add_argument("--out", required=True)
    _as_of_option(report)
    report.set_defaults(func=_cmd_twin_report)

    onboard = sub.add_parser("onboard", help="onboarding a site")
    onboard_sub = onboard.add_subparsers(dest="onboard_command", required=True)
    check = onboard_sub.add_parser(
        "check", help="dry run of the landing folders against the reference rows"
    )
    check.add_argument("--site", default=None, help="one site (default: every site)")
    check.add_argument("--all", action="store_true", help="every file, not a sample")
    check.set_defaults(func=_cmd_onboard_check)

    wh = sub.add_parser("warehouse", help="the warehouse file")
    wh_sub = wh.add_subparsers(dest="warehouse_command", required=True)
    check = wh_sub.add_parser("check", help="read every table in full (finds a damaged file)")
    check.set_defaults(func=_cmd_warehouse_check)
    fingerprint = wh_sub.add_parser(
        "fingerprint", help="rows and an order-independent hash of every mart and twin table"
    )
    fingerprint.add_argument("--json", action="store_true", help="one JSON object")
    fingerprint.set_defaults(func=_cmd_warehouse_fingerprint)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain of audit.audit_log")
    verify.set_defaults(func=_cmd_audit_verify)
    ack = audit_sub.add_parser(
        "acknowledge", help="vouch for reviewed entries that no anchor vouches for"
    )
    ack.add_argument("through", type=int, help="the last such entry (audit verify names it)")
    ack.add_argument("--reason", required=True, help="what the review found")
    ack.set_defaults(func=_cmd_audit_acknowledge)

    release = sub.add_parser("release", help="batch release readiness (docs/gmp.md)")
    release_sub = release.add_subparsers(dest="release_command", required=True)
    dossier = release_sub.add_parser(
        "dossier", help="a batch's release dossier: HTML, PDF and JSON, recorded in the audit log"
    )
    dossier.add_argument("--batch", required=True)
    dossier.add_argument("--out", required=True, help="the folder to write into")
    dossier.set_defaults(func=_cmd_release_dossier)
    rverify = release_sub.add_parser(
        "verify", help="check a dossier file against the sha256 the audit log recorded"
    )
    rverify.add_argument("file")
    rverify.set_defaults(func=_cmd_release_verify)

    lineage = sub.add_parser("lineage", help="OpenLineage events")
    lineage_sub = lineage.add_subparsers(dest="lineage_command", required=True)
    ship_cmd = lineage_sub.add_parser("ship", help="deliver pending events to the backend")
    ship_cmd.add_argument("--url", default=None, help="backend base URL (default OPENLINEAGE_URL)")
    ship_cmd.add_argument("--retries", type=int, default=5, help="attempts per event")
    ship_cmd.set_defaults(func=_cmd_lineage_ship)

    docs = sub.add_parser("docs", help="dbt docs of every model and column (static page)")
    docs.add_argument("--serve", action="store_true", help="also serve it on 127.0.0.1")
    docs.add_argument("--port", type=int, default=8080)
    docs.set_defaults(func=_cmd_docs)

    ui = sub.add_parser("ui", help="Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=_cmd_ui)
    return parser


def _cmd_compare_engines(args: argparse.Namespace) -> int:
    from orchestration.compare_engines import run_comparison

    return run_comparison(args.home.resolve(), args.batches, args.seed)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "start", "absent") is None:
        from synthetic.generate import DEFAULT_START

        args.start = DEFAULT_START
    try:
        return args.func(args)
    except ValueError as exc:  # bad arguments a user can fix: no traceback
        print(f"biotwin: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `biotwin … | head` closed the pipe: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
