#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests and demos of a shared store (issue 9).
#   bash scripts/pg-cluster.sh start DIR [PORT]   # initdb into DIR, start on 127.0.0.1:PORT (default 54329)
#   bash scripts/pg-cluster.sh stop DIR           # stop it (DIR stays; rm -rf it to discard)
# `start` installs Debian's postgresql when missing and writes DIR/url: a postgresql:// URL
# without the password, which is in DIR/password (0600) — never printed. PostgreSQL refuses to
# run as root, so under root the cluster belongs to the `postgres` user.
set -euo pipefail
command=${1:?usage: pg-cluster.sh start DIR [PORT] | stop DIR}
dir=${2:?usage: pg-cluster.sh start DIR [PORT] | stop DIR}
port=${3:-54329}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bin" ]]; then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get install -y --no-install-recommends postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}

# The server must not keep descriptors it inherited open: a caller waiting for this script's
# end on a pipe or socket (Foundation's Process does) would otherwise wait for the server too.
close_inherited_descriptors() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [[ $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

case $command in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
        chmod 600 "$dir/password"
        [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir/password"
        as_owner "$bin/initdb" -D "$dir/data" -U cashet --pwfile="$dir/password" \
            --auth-host=scram-sha-256 --auth-local=trust -E UTF8 > "$dir/initdb.log"
    fi
    (
        close_inherited_descriptors
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start > /dev/null < /dev/null
    )
    as_owner "$bin/psql" -h "$dir" -p "$port" -U cashet -d postgres -qAtc \
        "SELECT 1 FROM pg_database WHERE datname = 'cashet'" | grep -q 1 \
        || as_owner "$bin/createdb" -h "$dir" -p "$port" -U cashet cashet
    echo "postgresql://cashet@127.0.0.1:$port/cashet" > "$dir/url"
    cat "$dir/url"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
    ;;
*)
    echo "unknown command $command (use start or stop)" >&2
    exit 2
    ;;
esac
