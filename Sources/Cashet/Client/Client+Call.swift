/// One call of a cached function, as `submit` and `map` both prepare it.
extension Client {
    /// What a call's commit records about it, and how to build the request that runs it (its
    /// arguments are resolved only then: a `ResultRef` argument is loaded only on a miss).
    struct PreparedCall<Output: Codable & Sendable>: Sendable {
        let task: TaskDefinition
        let makeRequest: nonisolated(nonsending) @Sendable () async throws(CashetError) -> ExecutionRequest<Output>
    }

    func prepareCall<each Input: CashetArgument, each Argument, Output>(
        _ function: CachedFunction<repeat each Argument, Output>, _ inputs: repeat each Input, cacheable: Bool
    ) -> PreparedCall<Output> where repeat (each Input).Resolved == each Argument {
        var snapshot: [String] = []
        for input in repeat each inputs { snapshot.append(input.argumentDescription) }
        let task = TaskDefinition(functionName: function.identity.name, functionHash: function.identity.hash,
                                  functionVersion: function.identity.version, source: function.identity.source, identityManifest: function.identity.manifest,
                                  argumentsSnapshot: "(" + snapshot.joined(separator: ", ") + ")", cacheable: cacheable)
        return PreparedCall(task: task) { () async throws(CashetError) -> ExecutionRequest<Output> in
            let resolved = (repeat try await (each inputs).resolvedValue())
            let body: nonisolated(nonsending) @Sendable () async throws -> Output
            if let synchronous = function.synchronousBody {
                body = { try synchronous(repeat each resolved) }
            } else {
                body = { try await function.body(repeat each resolved) }
            }
            return ExecutionRequest(
                task: task,
                body: body,
                encodedArguments: {
                    var parts: [[UInt8]] = []
                    for value in repeat each resolved { parts.append(try WireCodec.encode(value)) }
                    return parts
                })
        }
    }
}
