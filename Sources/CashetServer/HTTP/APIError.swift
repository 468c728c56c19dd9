import Cashet
import Foundation
import HTTPTypes
import Hummingbird

/// An error the server answers with: a status, and a JSON body (`/api/…`) or a page.
struct APIError: Error {
    let status: HTTPResponse.Status
    /// A short name: `not_found`, `ambiguous_hash`, `unauthorized`, … (CashetError's codes in snake case).
    let code: String
    let message: String
    /// The exit status the CLI gives the same error (`ExitStatus`), nil where the CLI has none.
    let exitStatus: Int32?

    /// The answer to a cashet error, with the CLI's exit status for it.
    init(_ error: CashetError) {
        switch error.code {
        case .invalidHash, .invalidArgument: status = .badRequest
        case .notFound: status = .notFound
        case .ambiguousHash: status = .conflict
        case .limitExceeded: status = .contentTooLarge
        case .unavailable, .timedOut, .permissionDenied, .notAStore, .newerSchema: status = .serviceUnavailable
        default: status = .internalServerError
        }
        code = error.code.description.replacingOccurrences(of: " ", with: "_")
        message = error.message
        exitStatus = ExitStatus.of(error)
    }

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, exitStatus: Int32? = nil) {
        (self.status, self.code, self.message, self.exitStatus) = (status, code, message, exitStatus)
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "invalid_argument", message, exitStatus: ExitStatus.usage) }

    static let unauthorized = APIError(.unauthorized, "unauthorized", "this server needs a token: send `Authorization: Bearer <token>`")
    static let notFound = APIError(.notFound, "not_found", "no such page or endpoint", exitStatus: ExitStatus.notFound)

    /// `{"error": {"code", "message", "exit_status"}}`.
    var json: String {
        struct Body: Encodable {
            struct Detail: Encodable {
                let code, message: String
                let exitStatus: Int32?
            }
            let error: Detail
        }
        return (try? HumanOutput.jsonLine(Body(error: .init(code: code, message: message, exitStatus: exitStatus))))
            ?? #"{"error":{"code":"internal","message":"the error could not be encoded"}}"#
    }
}
