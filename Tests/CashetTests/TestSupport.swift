import Cashet
import CashetTestSupport
import Crypto
import Foundation

extension Products {
    static var cli: String { executable("cashet") }
    static var helper: String { executable("CashetTestHelper") }

    static func cashet(_ arguments: String...) throws -> ProcessResult { try run(cli, arguments) }

    /// Starts the test helper with `arguments` without waiting; its stdout and stderr go to the
    /// file `output` (created), or nowhere.
    static func startHelper(_ arguments: [String], output: String? = nil) throws -> Process {
        try start(helper, arguments, output: output)
    }

    /// Starts `cashet ARGUMENTS` without waiting (to kill it mid-work); output as ``startHelper(_:output:)``.
    static func startCLI(_ arguments: [String], output: String? = nil) throws -> Process {
        try start(cli, arguments, output: output)
    }

    private static func start(_ executable: String, _ arguments: [String], output: String?) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let output, FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) {
            process.standardOutput = file
            process.standardError = file
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }
}

/// SHA-256 of a file's bytes (to prove a file was not written).
func fileDigest(_ path: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

extension Products {
    /// `cashet ARGUMENTS`, waited for on a thread of its own: an async test that blocked a thread
    /// of the cooperative pool for each command would stall the tests running beside it.
    static func cli(_ arguments: String...) async throws -> ProcessResult { try await cli(arguments) }

    /// `cashet ARGUMENTS` from an array (a command chosen at run time).
    static func cli(_ arguments: [String]) async throws -> ProcessResult { try await runOffPool(cli, arguments) }
}

/// Runs blocking `work` (a subprocess wait, say) on a thread of its own, off the cooperative pool.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
