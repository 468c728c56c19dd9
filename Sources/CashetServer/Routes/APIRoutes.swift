import Cashet
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/…`: the CLI's `--json` shapes over HTTP (see docs/openapi.json).
struct APIRoutes {
    let client: Client
    let settings: ServerSettings

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/stats") { _, _ in try Reply.json(StatsJSON(try await client.stats())) }
        router.get("/api/breakdown") { request, _ in
            let days = try FormQuery(request.uri.query).integer("days", in: 1...36_600, default: 365)
            return try Reply.json(BreakdownJSON(try await client.breakdown(days: days)))
        }
        router.get("/api/log") { request, _ in try Reply.json(try await logPage(FormQuery(request.uri.query))) }
        router.get("/api/commits/:hash") { _, context in
            let (commits, isResult) = try await Lookup(client: client).commits(named: try Self.hashParameter(context, "hash"))
            var object = CommitJSON(commits[0], withSource: true)
            object.resultProducers = isResult ? commits.map(\.hash.hex) : nil
            object.lineage = LineageJSON(try await client.lineage(of: commits[0]))
            return try Reply.json(object)
        }
        router.get("/api/commits/:hash/history") { _, context in
            try Reply.json(try await client.history(try Self.hashParameter(context, "hash")).map { CommitJSON($0) })
        }
        router.get("/api/diff/:a/:b") { _, context in
            try Reply.json(DiffJSON(try await client.diff(try Self.hashParameter(context, "a"), try Self.hashParameter(context, "b"))))
        }
        router.get("/api/results/:hash") { request, context in
            let hash = try Self.hashParameter(context, "hash")
            let (_, output) = try await Lookup(client: client).output(named: hash)
            return try await ResultBytes(client: client, isPrivate: settings.token != nil).respond(to: request, hash: hash, output: output)
        }
        router.get("/api/results/:hash/json") { _, context in
            let (_, output) = try await Lookup(client: client).output(named: try Self.hashParameter(context, "hash"))
            guard output.size <= Self.jsonRenderLimit else {
                throw APIError(.contentTooLarge, "limit_exceeded", "the result is \(output.size) bytes; JSON renderings stop at \(Self.jsonRenderLimit): fetch its bytes instead", exitStatus: ExitStatus.usage)
            }
            let bytes = try await client.bytes(of: output)
            if let json = try? BinaryJSON.render(bytes, pretty: false) { return Reply.json(text: json) }
            if let text = String(validating: bytes, as: UTF8.self), (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil {
                return Reply.json(text: text)
            }
            throw APIError(.unprocessableContent, "not_json", "the result is neither cashet's binary format nor JSON text; fetch its bytes instead", exitStatus: ExitStatus.usage)
        }
        router.post("/api/gc") { request, _ in
            try requireMutation(request)
            let form = FormQuery(request.uri.query)
            let now = Date()
            var policy = EvictionPolicy(olderThan: try form["older_than"].map { text throws(CashetError) in try HumanInput.date(text, option: "older_than", now: now) },
                                        maxStoredBytes: try form["max_size"].map { text throws(CashetError) in try HumanInput.size(text, option: "max_size") })
            if policy.olderThan == nil && policy.maxStoredBytes == nil { policy.olderThan = now.addingTimeInterval(-30 * 86_400) }
            let dryRun = form.flag("dry_run")
            return try Reply.json(RemovalJSON(dryRun: dryRun, report: try await client.gc(policy, dryRun: dryRun)))
        }
        router.delete("/api/commits/:hash") { request, context in
            try requireMutation(request)
            let resolved = try await client.resolve(try Self.hashParameter(context, "hash"))
            let dryRun = FormQuery(request.uri.query).flag("dry_run")
            return try Reply.json(RemovalJSON(dryRun: dryRun, commits: [resolved.hex], report: try await client.rm(resolved: [resolved], dryRun: dryRun)))
        }
    }

    /// Results larger than this are not rendered as JSON (the page and the API would hold them whole).
    static let jsonRenderLimit = 16 << 20

    /// One page of `log`: the commits and the cursor of the next page (null on the last).
    func logPage(_ form: FormQuery) async throws -> LogPageJSON {
        let query = try form.commitQuery()
        let commits = try await client.log(query)
        return LogPageJSON(commits: commits.map { CommitJSON($0) }, nextCursor: query.nextCursor(after: commits))
    }

    /// `gc` and `rm` are served only when enabled, and only to a request carrying the token in
    /// its `Authorization` header.
    private func requireMutation(_ request: Request) throws {
        guard settings.allowsMutations else {
            throw APIError(.forbidden, "mutations_disabled", "this server does not remove anything: start it with --allow-mutations (and a token)", exitStatus: ExitStatus.usage)
        }
        guard GuardMiddleware<BasicRequestContext>.authorizedByHeader(request, token: settings.token) else { throw APIError.unauthorized }
    }

    /// A path parameter that names a commit or result: hex only, so `..`, slashes and encoded
    /// characters never reach the store (400 otherwise).
    static func hashParameter(_ context: BasicRequestContext, _ name: String) throws(CashetError) -> String {
        try Lookup.hash(context.parameters.get(name) ?? "")
    }
}

/// `/api/log`.
struct LogPageJSON: Encodable {
    let commits: [CommitJSON]
    @Nullable var nextCursor: String?
}

/// `/api/breakdown`.
struct BreakdownJSON: Encodable {
    struct Day: Encodable {
        let day: String
        let commits, bytes: Int
    }

    let tracked: Bool
    let functions: [StoreBreakdown.FunctionTotals]
    let days: [Day]
    let earlierCommits, earlierBytes: Int

    init(_ breakdown: StoreBreakdown) {
        tracked = breakdown.isTracked
        functions = breakdown.functions
        days = breakdown.days.map { Day(day: HumanOutput.isoDay($0.day), commits: $0.commits, bytes: $0.bytes) }
        (earlierCommits, earlierBytes) = (breakdown.earlierCommits, breakdown.earlierBytes)
    }
}
