#!/usr/bin/env bash
# Times CashetIdentityPlugin on a generated target of FILES files (default 1,000): the cold
# build, a no-op build, and after an edit that no cached function reaches and one that a
# cached function reaches: the wall time of `swift build`, the files the Swift driver
# recompiled, whether the generated identity file changed, and the tool's own time (run again
# by hand with the build's own command line).
#
#   bash scripts/identity-timing.sh            # FILES=1000 WORK=.build-bench/identity-timing
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILES=${FILES:-1000}
WORK=${WORK:-$ROOT/.build-bench/identity-timing}
SOURCES=$WORK/Sources/Big
mkdir -p "$SOURCES"

cat > "$WORK/Package.swift" <<MANIFEST
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "IdentityTiming",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "cashet", path: "$ROOT")],
    targets: [
        .target(name: "Big", dependencies: [.product(name: "CashetMacros", package: "cashet")],
                plugins: [.plugin(name: "CashetIdentityPlugin", package: "cashet")]),
    ],
    swiftLanguageModes: [.v6]
)
MANIFEST

# File i: a struct with a default and a computed property, an enum, four helpers; helpers call
# the next file's within groups of ten, so a cached function reaches one group.
write_file() {
    local i=$1 next=$(( $1 % 10 == 9 ? -1 : $1 + 1 ))
    local call="0"
    [ "$next" -ge 0 ] && call="helper$next(x)"
    cat > "$SOURCES/File$i.swift.tmp" <<SWIFT
/// Generated file $i.
public struct Model$i: Sendable {
    public var value = $i
    public var label = "model $i"
    public init() {}
    public var doubled: Int { value * 2 }
}

public enum Mode$i: String, Sendable { case fast, slow }

public func helper$i(_ x: Int) -> Int {
    let model = Model$i()
    return x + model.doubled + $call
}

public func format$i(_ x: Int) -> String {
    "\(x) in file $i"
}

public func parse$i(_ text: String) -> Int? {
    Int(text.split(separator: " ").first ?? "")
}

func internal$i(_ values: [Int]) -> Int {
    values.reduce(0) { \$0 + \$1 * $i }
}
SWIFT
    # Rewrite only what changed, so a re-run of this script edits nothing.
    if ! cmp -s "$SOURCES/File$i.swift.tmp" "$SOURCES/File$i.swift"; then mv "$SOURCES/File$i.swift.tmp" "$SOURCES/File$i.swift"; else rm "$SOURCES/File$i.swift.tmp"; fi
}
for ((i = 0; i < FILES; i++)); do write_file "$i"; done
{
    echo "import CashetMacros"
    for ((k = 0; k < 20; k++)); do echo "@Cached public func cached$k(_ x: Int) -> Int { helper$((k * 50))(x) }"; done
} > "$SOURCES/Cached.swift.tmp"
cmp -s "$SOURCES/Cached.swift.tmp" "$SOURCES/Cached.swift" && rm "$SOURCES/Cached.swift.tmp" || mv "$SOURCES/Cached.swift.tmp" "$SOURCES/Cached.swift"

# The files the Swift driver queued for compilation (a count past eight).
queued() {
    local files
    files=$(grep 'Incremental compilation: Queuing' "$1" | grep -o '<= [^}]*' | sed 's/<= //' | sort -u || true)
    local count
    count=$(printf '%s' "$files" | grep -c . || true)
    if [ "$count" -gt 8 ]; then echo "$count files"; elif [ "$count" -eq 0 ]; then echo none; else echo $files; fi
}

build() {   # build LABEL: wall time, recompiled files, generated file changed?
    local before after start end
    # SwiftPM names the folder after the package's identity (its directory).
    GENERATED=$(ls "$WORK"/.build/plugins/outputs/*/Big/destination/CashetIdentityPlugin/CashetIdentities.swift 2>/dev/null || echo "$WORK/none")
    before=$(date -r "$GENERATED" +%s.%N 2>/dev/null || echo none)
    start=$(date +%s.%N)
    BUILDS=$(( ${BUILDS:-0} + 1 ))
    swift build --package-path "$WORK" --target Big -v -Xswiftc -driver-show-incremental > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
    cp "$WORK/build.log" "$WORK/build-$BUILDS.log"
    end=$(date +%s.%N)
    GENERATED=$(ls "$WORK"/.build/plugins/outputs/*/Big/destination/CashetIdentityPlugin/CashetIdentities.swift)
    after=$(date -r "$GENERATED" +%s.%N)
    printf '%-34s %6.2f s  recompiled: %-44s generated file %s\n' "$1" "$(echo "$end - $start" | bc)" "$(queued "$WORK/build.log")" "$([ "$before" = "$after" ] && echo unchanged || echo rewritten)"
}

echo "# $FILES files + Cached.swift (20 @Cached functions), $(nproc) cores, $(date -u +%Y-%m-%d)"
build "first build (cold or warm)"
build "no-op build"
sleep 1.5
sed -i 's/values.reduce(0)/values.reduce(1)/' "$SOURCES/File5.swift"
build "edit reached by no cached function"
sleep 1.5
sed -i 's/values.reduce(1)/values.reduce(0)/' "$SOURCES/File5.swift"
build "edit undone"
sleep 1.5
sed -i 's/x + model.doubled/x - model.doubled/' "$SOURCES/File51.swift"
build "edit reached by cached1"
sleep 1.5
sed -i 's/x - model.doubled/x + model.doubled/' "$SOURCES/File51.swift"
build "edit undone"

# The tool on its own, with the build's command line: warm cache (nothing to parse), then cold.
TOOL_LINE=$(grep -m1 'CashetIdentityTool ' "$WORK/build.log" || true)
if [ -z "$TOOL_LINE" ]; then
    swift build --package-path "$WORK" --target Big -v > "$WORK/build.log" 2>&1
fi
TOOL=$(ls "$WORK"/.build/debug/CashetIdentityTool-tool 2>/dev/null || ls "$WORK"/.build/*/debug/CashetIdentityTool-tool | head -1)
ARGS_FILE=$WORK/tool-args
python3 - "$WORK" "$ROOT" "$FILES" > "$ARGS_FILE" <<'PY'
import sys, os, glob
work, root, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = os.path.join(work, "Sources/Big")
paths = sorted(glob.glob(os.path.join(src, "*.swift")))
out = os.path.join(work, "tool-output.swift")
print("\n".join([out, "--cache", os.path.join(work, "tool.cache"), "--target", "Big", src] + paths))
PY
mapfile -t ARGS < "$ARGS_FILE"
rm -f "$WORK/tool.cache"
run_tool() { CASHET_IDENTITY_STATS=1 "$TOOL" "${ARGS[@]}" 2>&1 | grep CashetIdentityTool; }
echo "tool, no cache:      $(run_tool)"
touch -d '-1 minute' "$SOURCES"/*.swift
rm -f "$WORK/tool.cache"; run_tool > /dev/null
echo "tool, warm cache:    $(run_tool)"
touch -d '-30 seconds' "$SOURCES/File5.swift"
echo "tool, one file edited: $(run_tool)"

# The same 1,000 files and the same edit in a package without cashet or the plugin: what
# SwiftPM and the Swift driver cost on their own.
BASE=$WORK-baseline
mkdir -p "$BASE/Sources/Big"
cat > "$BASE/Package.swift" <<MANIFEST
// swift-tools-version:6.1
import PackageDescription

let package = Package(name: "IdentityTimingBaseline", targets: [.target(name: "Big")], swiftLanguageModes: [.v6])
MANIFEST
for ((i = 0; i < FILES; i++)); do cmp -s "$SOURCES/File$i.swift" "$BASE/Sources/Big/File$i.swift" || cp -p "$SOURCES/File$i.swift" "$BASE/Sources/Big/"; done
base_build() {
    local start end
    start=$(date +%s.%N)
    swift build --package-path "$BASE" -v -Xswiftc -driver-show-incremental > "$BASE/build.log" 2>&1 || { tail -30 "$BASE/build.log"; exit 1; }
    end=$(date +%s.%N)
    printf '%-34s %6.2f s  recompiled: %s\n' "baseline: $1" "$(echo "$end - $start" | bc)" "$(queued "$BASE/build.log")"
}
base_build "first build"
base_build "no-op build"
sleep 1.5
sed -i 's/values.reduce(0)/values.reduce(1)/' "$BASE/Sources/Big/File5.swift"
base_build "the same edit"
sleep 1.5
sed -i 's/values.reduce(1)/values.reduce(0)/' "$BASE/Sources/Big/File5.swift"
base_build "edit undone"
