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

    /// What a token may hold: hex and base64 (standard and URL-safe) characters, all safe in an
    /// `Authorization` header.
    static let tokenCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")

    /// Whether ``host`` names the loopback interface only.
    public var bindsLoopbackOnly: Bool { Self.isLoopback(host) }

    /// Whether `name` is a loopback name or address: `localhost`, `127.x.x.x`, `::1`.
    static func isLoopback(_ name: some StringProtocol) -> Bool {
        let host = name.lowercased()
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
            guard token.unicodeScalars.allSatisfy(Self.tokenCharacters.contains) else {
                throw CashetError(.invalidArgument, "the token may hold letters, digits and - . _ ~ + / = only (hex or base64, as `openssl rand -hex 32` makes)")
            }
        } else if !bindsLoopbackOnly {
            throw CashetError(.invalidArgument, "serving on \(host), beyond this machine, needs a token: --token-file FILE or $CASHET_TOKEN")
        } else if allowsMutations {
            throw CashetError(.invalidArgument, "--allow-mutations needs a token (--token-file FILE or $CASHET_TOKEN): gc and rm are never open to anyone who can reach the port")
        }
    }
}
