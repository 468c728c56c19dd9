/// A store's directory, held open for the store's life: every file below it is reached through
/// this descriptor (see ``DirectoryHandle``), never by a path that a link could redirect.
final class StoreRoot: Sendable {
    let handle: DirectoryHandle

    /// Opens the store directory at `path` (which must exist).
    init(_ path: String) throws(CashetError) {
        guard let handle = try DirectoryHandle.openRoot(path) else {
            throw CashetError(.notAStore, "no cashet store at \(path) (it is not a directory)")
        }
        self.handle = handle
    }

    var path: String { handle.path }


    /// Symbolic links at the top of the store and in `leases/` (paths relative to the root);
    /// `objects/` is walked by ``BlobFiles/walk(isRecordedFile:)``.
    func links() throws(CashetError) -> [String] {
        var links: [String] = []
        for name in try handle.entries() {
            switch try handle.kind(of: name) {
            case .symbolicLink?: links.append(name)
            case .directory? where name == CallLeases.directoryName:
                guard let leases = try handle.directory(name) else { continue }
                for entry in try leases.entries() {
                    if try leases.kind(of: entry) == .symbolicLink { links.append(name + "/" + entry) }
                }
            default: continue
            }
        }
        return links
    }

    /// Removes the link at `relative` (a path below the root), walking to it without following
    /// any link; true when a link was there and is gone. Never removes anything else.
    func removeLink(_ relative: String) throws(CashetError) -> Bool {
        var components = relative.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { return false }
        return try remove(name, below: components[...], in: handle)
    }

    private func remove(_ name: String, below path: ArraySlice<String>, in directory: borrowing DirectoryHandle) throws(CashetError) -> Bool {
        guard let next = path.first else {
            guard try directory.kind(of: name) == .symbolicLink else { return false }
            return try directory.remove(name)
        }
        guard let subdirectory = try directory.directory(next) else { return false }
        return try remove(name, below: path.dropFirst(), in: subdirectory)
    }
}
