import Cashet
import CashetTestSupport
import Crypto
import Foundation

extension Products {
    static var cli: String { executable("cashet") }
    static var helper: String { executable("CashetTestHelper") }

    static func cashet(_ arguments: String...) throws -> ProcessResult { try run(cli, arguments) }
}

/// SHA-256 of a file's bytes (to prove a file was not written).
func fileDigest(_ path: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
