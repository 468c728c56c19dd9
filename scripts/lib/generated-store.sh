# Sourced by the scripts that time the CLI or the server on a big store (bench-cli.sh,
# serve-load.sh):
#   make_generated_store COMMITS
# builds `cashet` in release (sets $bin to its directory) and Benchmarks' CashetStoreGenerator,
# and grows the store $store (default .build-bench/store-COMMITS, kept for later runs) to
# COMMITS small commits.
make_generated_store() {
    store=${STORE:-.build-bench/store-$1}
    swift build -c release --product cashet
    bin=$(swift build -c release --show-bin-path)
    # Benchmarks is its own package; it does not notice new sources of the root package without this.
    (cd Benchmarks && rm -f .build/release.yaml && swift build -c release --product CashetStoreGenerator)
    mkdir -p "$(dirname "$store")"
    Benchmarks/.build/release/CashetStoreGenerator "$store" "$1" >&2
}
