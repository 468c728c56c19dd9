/// A handle to a cached result: its blob hash and size, loadable on demand.
///
/// Pass it as an argument to another cached function to chain steps: it is hashed by the
/// blob it points at (so an unchanged upstream output keeps downstream steps cached) and
/// resolved to the loaded value before the downstream function runs.
public struct ResultRef<Value: Codable & Sendable>: Sendable, CashetArgument {
    /// SHA-256 of the serialized result.
    public let hash: ContentHash
    /// Size of the serialized result in bytes.
    public let size: Int
    /// The commit that produced (or last re-produced) this result.
    public let commit: ContentHash
    /// True when the result came from the cache without running the function.
    public let wasCached: Bool
    let store: any Store
    let serializer: any Serializer
    /// The result's bytes when they came with the ref: a small result's hit (the store gave
    /// them with the head), or `submit`'s miss (the bytes it just encoded and recorded).
    let preloaded: [UInt8]?

    init(output: ObjectRef, commit: ContentHash, wasCached: Bool, store: any Store, serializer: any Serializer, preloaded: [UInt8]? = nil) {
        self.hash = output.hash
        self.size = output.size
        self.commit = commit
        self.wasCached = wasCached
        self.store = store
        self.serializer = serializer
        self.preloaded = preloaded
    }

    /// Loads and decodes the result.
    public nonisolated(nonsending) func load() async throws(CashetError) -> Value {
        try serializer.decode(Value.self, from: try await loadBytes())
    }

    /// Loads the serialized bytes of the result.
    public nonisolated(nonsending) func loadBytes() async throws(CashetError) -> [UInt8] {
        if let preloaded { return preloaded }
        return try await store.blob(hash)
    }

    public func writeCanonicalBytes(to arguments: inout CanonicalArguments) throws(CashetError) {
        arguments.appendBlobReference(hash)
    }

    public var argumentDescription: String { "ResultRef(\(hash.hex))" }

    public nonisolated(nonsending) func resolvedValue() async throws(CashetError) -> Value { try await load() }
}
