import ArgumentParser
import Cashet
import CashetServer
import Foundation
import Logging

struct ServeCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a JSON API and a web UI over the store (commits, lineage, diffs, results, growth).",
        discussion: """
        Binds to 127.0.0.1 by default. Any other address needs a token (--token-file, or $CASHET_TOKEN), which every \
        request must then carry as `Authorization: Bearer <token>` (browsers sign in once at /login). The store is opened \
        read-only unless --allow-mutations serves gc and rm, which also need the token. Stops on SIGINT or SIGTERM after \
        the requests in flight. The API is described in docs/openapi.json.
        """)
    @ParentCommand var parent: CashetCommand
    @OptionGroup var options: StoreOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port; the one chosen is printed).") var port = 8080
    @Option(help: "A file holding the token requests must carry (else $CASHET_TOKEN).") var tokenFile: String?
    @Flag(help: "Serve gc and rm (POST /api/gc, DELETE /api/commits/{hash}); they need the token too.") var allowMutations = false

    var access: StoreAccess { allowMutations ? .readWrite : .readOnly }

    func checkArguments() throws(CashetError) { try settings().validate() }

    func run(client: Client) async throws {
        let server = try CashetServer(client: client, settings: try settings(logger: try CLILogging.logger()))
        try await server.run { host, port in
            let shown = host.contains(":") ? "[\(host)]" : host
            FileHandle.standardOutput.write(Data("cashet serve: listening on http://\(shown):\(port)\n".utf8))
        }
    }

    /// The settings the options give; the token is read from its file, never from the command line.
    private func settings(logger: Logger? = nil) throws(CashetError) -> ServerSettings {
        var token = ProcessInfo.processInfo.environment["CASHET_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CashetError(.invalidArgument, "cannot read the token file \(tokenFile)")
            }
            guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw CashetError(.invalidArgument, "the token file \(tokenFile) is empty or not text")
            }
            token = text
        }
        var settings = ServerSettings(host: host, port: port, token: token, allowsMutations: allowMutations)
        if let logger { settings.logger = logger }
        return settings
    }
}
