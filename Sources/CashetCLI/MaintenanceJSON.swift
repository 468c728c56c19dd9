// The JSON of the maintenance commands, which only the CLI prints (the shapes `cashet serve`
// shares with it are in Cashet's JSONViews.swift).

/// `migrate --json`.
struct MigrationJSON: Encodable {
    let fromSchema, toSchema, commitsMigrated, blobsMigrated: Int
    let previousFile: String
}

/// `compact --json`.
struct CompactionJSON: Encodable {
    let bytesBefore, bytesAfter, bytesFreed: Int
}

/// `export --json` and `import --json`.
struct ArchiveJSON: Encodable {
    let file: String
    let commits, commitsSkipped, blobs, blobBytes: Int
}
