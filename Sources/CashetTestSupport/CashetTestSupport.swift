import Foundation
import Synchronization

// Helpers for cashet's test suites (the root package's and IntegrationTests'): real temp
// directories, an execution counter, real subprocesses. Not part of the library's API.

/// A fresh directory under the system temp dir, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Creates the directory.
    public init() {
        path = NSTemporaryDirectory() + "cashet-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory (not created).
    public func child(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Counts how many times a cached body really ran.
public final class ExecutionCounter: Sendable {
    private let count = Mutex(0)

    /// A counter at zero.
    public init() {}

    /// Adds one.
    public func tick() { count.withLock { $0 += 1 } }

    /// The count so far.
    public var value: Int { count.withLock { $0 } }
}

/// The result of running a real subprocess.
public struct ProcessResult: Sendable {
    /// Exit status.
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Built products sit next to the test executable in the build directory.
public enum Products {
    /// The build directory holding the test executable and the package's executables.
    public static var directory: URL {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On macOS the test binary is inside a .xctest bundle.
        while url.pathExtension == "xctest" || url.lastPathComponent == "MacOS" || url.lastPathComponent == "Contents" {
            url.deleteLastPathComponent()
        }
        return url
    }

    /// The path of an executable built into `directory`.
    public static func executable(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs `executable` with `arguments` and waits for it.
    public static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// Deterministic test data: the same seed gives the same bytes in every process.
public enum TestPayload {
    /// Bytes that compress well (text-like, repeating structure with varying numbers).
    public static func compressible(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 64)
        while bytes.count < count {
            bytes.append(contentsOf: "{\"row\":\(bytes.count),\"value\":\(generator.next() % 1000),\"label\":\"sample\"}\n".utf8)
        }
        return Array(bytes.prefix(count))
    }

    /// Bytes that do not compress (pseudo-random).
    public static func incompressible(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed)
        var bytes = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 8) {
            var word = generator.next()
            for offset in index..<min(index + 8, count) {
                bytes[offset] = UInt8(truncatingIfNeeded: word)
                word >>= 8
            }
        }
        return bytes
    }

    /// SplitMix64: tiny, fast, and the same on every platform.
    struct SplitMix64 {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
