#!/usr/bin/env bash
# A local PostgreSQL cluster for biotwin, under $BIOTWIN_HOME/postgres (BIOTWIN_POSTGRES_DIR),
# listening on 127.0.0.1 only (docs/scale-out.md). Debian's `postgresql` package, installed with
# apt-get when absent.
#
#   scripts/postgres.sh start    install if needed, create the cluster once, start it, and
#                                print the environment a biotwin run needs (credentials.env)
#   scripts/postgres.sh stop     stop it (the data stays)
#   scripts/postgres.sh status
#
# Roles: biotwin_admin (owns the audit log; the local socket only, which only the server's user
# can reach), biotwin_writer (what runs use: Dagster's storage, the served marts; may only read
# and append to audit.audit_log), biotwin_reader (SELECT on what is served). Passwords come from
# BIOTWIN_POSTGRES_WRITER_PASSWORD and BIOTWIN_POSTGRES_READER_PASSWORD, or are generated once
# into credentials.env (mode 600, under $BIOTWIN_HOME, never under version control).
set -euo pipefail
# runuser lives in sbin, which a plain shell's PATH (cron, env -i) may not hold
export PATH="$PATH:/usr/sbin:/sbin"

HOME_DIR=$(realpath -m "${BIOTWIN_HOME:-$PWD/.biotwin}")
ROOT=$(realpath -m "${BIOTWIN_POSTGRES_DIR:-$HOME_DIR/postgres}")
DATA="$ROOT/data"
RUN="$ROOT/run"
LOG="$ROOT/server.log"
CREDENTIALS="$ROOT/credentials.env"
PORT="${BIOTWIN_POSTGRES_PORT:-55432}"

say() { echo "postgres: $*" >&2; }

server_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ]; then
        if [ "$(id -u)" != 0 ]; then
            say "PostgreSQL is not installed, and installing it needs root: apt-get install postgresql"
            exit 1
        fi
        say "installing Debian's postgresql package (apt-get)"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$found"
}

# the server refuses to run as root: as root, it runs as the package's postgres user
as_server() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

check_runuser() {
    if [ "$(id -u)" = 0 ] && ! command -v runuser >/dev/null; then
        say "runuser (util-linux) is not installed: as root the server must run as postgres"
        exit 1
    fi
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_server "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# SQL on stdin as the admin over the socket; `-v name=value` is quoted in the SQL as :'name'
admin_sql() {
    local db=$1
    shift
    as_server "$BIN/psql" -q -X -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U biotwin_admin \
        -d "$db" "$@" >/dev/null
}

create_cluster() {
    say "creating a cluster in $DATA"
    mkdir -p "$ROOT"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$ROOT"; fi
    chmod 700 "$ROOT"
    if ! as_server test -w "$ROOT"; then
        say "the server's user cannot write $ROOT: every folder above it must be searchable"
        say "by it (chmod o+x), or set BIOTWIN_POSTGRES_DIR to a folder it can reach"
        exit 1
    fi
    as_server mkdir -p "$RUN"
    as_server "$BIN/initdb" -D "$DATA" -U biotwin_admin --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    # TCP on the loopback only; the socket where only the server's user reaches it
    printf "%s\n" "listen_addresses = '127.0.0.1'" "port = $PORT" \
        "unix_socket_directories = '$RUN'" "unix_socket_permissions = 0700" \
        | as_server tee -a "$DATA/postgresql.conf" >/dev/null
}

urlquote() {
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

write_credentials() {
    local writer="${BIOTWIN_POSTGRES_WRITER_PASSWORD:-}" reader="${BIOTWIN_POSTGRES_READER_PASSWORD:-}"
    if [ -f "$CREDENTIALS" ] && [ -z "$writer$reader" ]; then return; fi
    [ -n "$writer" ] || writer=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    [ -n "$reader" ] || reader=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    local base="127.0.0.1:$PORT" w r
    w=$(urlquote "$writer")
    r=$(urlquote "$reader")
    (
        umask 077
        {
            echo "# biotwin's local PostgreSQL (scripts/postgres.sh): set -a; . $CREDENTIALS; set +a"
            echo "BIOTWIN_POSTGRES_WRITER_URL=postgresql://biotwin_writer:$w@$base/biotwin"
            echo "BIOTWIN_POSTGRES_READER_URL=postgresql://biotwin_reader:$r@$base/biotwin"
            # Dagster reaches it through SQLAlchemy with psycopg2, dagster-postgres's driver
            echo "BIOTWIN_DAGSTER_POSTGRES_URL=postgresql+psycopg2://biotwin_writer:$w@$base/dagster"
        } >"$CREDENTIALS"
    )
}

password_of() {
    python3 - "$CREDENTIALS" "$1" <<'PY'
import sys
import urllib.parse

for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith(sys.argv[2] + "="):
        print(urllib.parse.unquote(urllib.parse.urlsplit(line.split("=", 1)[1].strip()).password))
PY
}

create_roles() {
    local writer reader
    writer=$(password_of BIOTWIN_POSTGRES_WRITER_URL)
    reader=$(password_of BIOTWIN_POSTGRES_READER_URL)
    admin_sql postgres -v writer="$writer" -v reader="$reader" <<'SQL'
SELECT 'CREATE ROLE biotwin_writer LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'biotwin_writer') \gexec
SELECT 'CREATE ROLE biotwin_reader LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'biotwin_reader') \gexec
ALTER ROLE biotwin_writer PASSWORD :'writer';
ALTER ROLE biotwin_reader PASSWORD :'reader';
SELECT 'CREATE DATABASE biotwin OWNER biotwin_admin'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'biotwin') \gexec
SELECT 'CREATE DATABASE dagster OWNER biotwin_writer'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dagster') \gexec
SQL
    # Dagster's storage: the writer's database (Dagster creates and migrates its own tables)
    admin_sql dagster <<'SQL'
ALTER SCHEMA public OWNER TO biotwin_writer;
SQL
    # the served marts: the writer creates and swaps schemas, readers read them. The audit log
    # is the admin's: the writer may read it and append to it, never change or delete a row
    admin_sql biotwin <<'SQL'
REVOKE ALL ON DATABASE biotwin FROM PUBLIC;
GRANT CONNECT ON DATABASE biotwin TO biotwin_writer, biotwin_reader;
GRANT CREATE ON DATABASE biotwin TO biotwin_writer;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION biotwin_admin;
CREATE TABLE IF NOT EXISTS audit.audit_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    subject text NOT NULL,
    actor text NOT NULL,
    detail jsonb NOT NULL
);
GRANT USAGE ON SCHEMA audit TO biotwin_writer, biotwin_reader;
GRANT SELECT, INSERT ON audit.audit_log TO biotwin_writer;
GRANT SELECT ON audit.audit_log TO biotwin_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE biotwin_writer GRANT USAGE ON SCHEMAS TO biotwin_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE biotwin_writer GRANT SELECT ON TABLES TO biotwin_reader;
SQL
}

start() {
    check_runuser
    BIN=$(server_bin)
    [ -f "$DATA/PG_VERSION" ] || create_cluster
    if running; then
        say "already running on 127.0.0.1:$PORT ($DATA)"
    else
        as_server "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null || {
            say "did not start; the end of $LOG:"
            tail -n 20 "$LOG" >&2
            exit 1
        }
        say "started on 127.0.0.1:$PORT ($DATA)"
    fi
    write_credentials
    create_roles
    grep -v '^#' "$CREDENTIALS"
}

stop() {
    BIN=$(server_bin)
    if running; then
        as_server "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        say "stopped ($DATA)"
    else
        say "not running ($DATA)"
    fi
}

status() {
    BIN=$(server_bin)
    if running; then
        say "running on 127.0.0.1:$PORT ($DATA)"
    else
        say "not running ($DATA)"
        exit 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: scripts/postgres.sh start|stop|status" >&2
        exit 2
        ;;
esac
