# Sourced by the scripts that need a PostgreSQL server (demo-shared.sh, bench-shared.sh):
#   start_throwaway_cluster PORT
# makes a temporary directory $work, starts a cluster in $work/postgres on 127.0.0.1:PORT
# (scripts/pg-cluster.sh), sets $url (without the password), exports PGPASSWORD (cashet and
# psql read it; it is never printed), and stops the cluster and removes $work on exit.
start_throwaway_cluster() {
    work=$(mktemp -d)
    chmod 711 "$work"   # the server's own user (postgres, under root) must reach $work/postgres
    cluster="$work/postgres"
    trap 'bash scripts/pg-cluster.sh stop "$cluster" 2>/dev/null || true; rm -rf "$work"' EXIT
    url=$(bash scripts/pg-cluster.sh start "$cluster" "$1")
    PGPASSWORD=$(cat "$cluster/password")
    export PGPASSWORD
}
