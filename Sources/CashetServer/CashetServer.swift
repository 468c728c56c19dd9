import Cashet
import Hummingbird
import Logging
import NIOCore

/// `cashet serve`: a JSON API (`/api/…`, the CLI's `--json` shapes, documented in
/// docs/openapi.json) and a web UI over one store, through the `Store` protocol, so it serves
/// an LMDB store, a PostgreSQL store or a tiered store alike.
///
/// It runs until SIGINT or SIGTERM, then finishes the requests in flight and returns; the
/// caller closes the store.
public struct CashetServer: Sendable {
    private let client: Client
    private let settings: ServerSettings

    /// A server over `client`'s store. Throws `.invalidArgument` for settings that are not safe
    /// (see ``ServerSettings/validate()``).
    public init(client: Client, settings: ServerSettings) throws(CashetError) {
        try settings.validate()
        self.client = client
        self.settings = settings
    }

    /// Serves until SIGINT or SIGTERM. `onListening` hears the address once the socket is bound
    /// (with the port the system chose for port 0).
    public func run(onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void = { _, _ in }) async throws {
        // HEAD runs the GET handlers and sends their headers (a result's size, its ETag).
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: GuardMiddleware(token: settings.token))
        APIRoutes(client: client, settings: settings).register(on: router)
        PageRoutes(client: client, settings: settings).register(on: router)
        let host = settings.host
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: settings.port), serverName: "cashet"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? 0) },
            logger: settings.logger)
        try await application.runService()
    }
}
