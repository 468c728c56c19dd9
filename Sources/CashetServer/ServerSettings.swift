import Cashet
import Foundation
import Logging

/// How `cashet serve` listens and whom it answers.
public struct ServerSettings: Sendable {
    /// The address to bind: loopback (`127.0.0.1`, `::1`, `localhost`) by default. Any other
    /// address requires a ``token``.
    public var host: String
    /// The port; 0 picks a free one (``CashetServer/run(onListening:)`` reports it).
    public var port: Int
    /// The bearer token every request must carry (`Authorization: Bearer …`, or the cookie the
    /// login page sets). Nil on a loopback bind answers anyone who can reach the port. Never logged.
    public var token: String?
    /// Whether `gc` and `rm` are served. They also need a ``token``: a mutation is never open
    /// to anyone who can reach the port.
    public var allowsMutations: Bool
    /// Where the server logs requests and errors (never the token).
    public var logger: Logger

    /// Creates settings; see each property.
    public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, allowsMutations: Bool = false,
                logger: Logger = Logger(label: "cashet.serve")) {
        self.host = host
        self.port = port
        self.token = token
        self.allowsMutations = allowsMutations
        self.logger = logger
    }

    /// Whether ``host`` names the loopback interface only.
    public var bindsLoopbackOnly: Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `.invalidArgument` naming what is wrong: a port out of range, an empty token, a bind
    /// beyond loopback without a token.
    public func validate() throws(CashetError) {
        guard (0...65_535).contains(port) else { throw CashetError(.invalidArgument, "--port must be between 0 and 65535, got \(port)") }
        if let token {
            guard token.utf8.count >= 16 else {
                throw CashetError(.invalidArgument, "the token must have at least 16 characters (it has \(token.utf8.count)); make one with `openssl rand -hex 32`")
            }
            guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw CashetError(.invalidArgument, "the token must be printable ASCII without spaces")
            }
        } else if !bindsLoopbackOnly {
            throw CashetError(.invalidArgument, "serving on \(host), beyond this machine, needs a token: --token-file FILE or $CASHET_TOKEN")
        }
    }
}
