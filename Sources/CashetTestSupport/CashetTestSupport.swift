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
    // An atomic, not a Mutex: ThreadSanitizer follows atomics, not a contended Mutex's futex wait.
    private let count = Atomic<Int>(0)

    /// A counter at zero.
    public init() {}

    /// Adds one.
    public func tick() { count.add(1, ordering: .sequentiallyConsistent) }

    /// The count so far.
    public var value: Int { count.load(ordering: .sequentiallyConsistent) }
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

    /// ``run(_:_:)`` on a thread of its own, for async tests that wait long: a test blocking one
    /// of the few threads of the cooperative pool would stall the tests running beside it.
    public static func runOffPool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try run(executable, arguments, environment: environment) }) }.start()
        }
    }

    /// Runs `executable` with `arguments` (in `directory`, or this process's working directory;
    /// with `environment` added to this process's) and waits for it.
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added } }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
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
        var bytes = [UInt8](repeating: 0, count: count)
        let template = Array("{\"row\":0000000,\"value\":000,\"label\":\"sample\"}\n".utf8)
        bytes.withUnsafeMutableBufferPointer { out in
            var offset = 0
            while offset < count {
                let length = min(template.count, count - offset)
                for i in 0..<length { out[offset + i] = template[i] }
                // Three varying digits per row keep it from being trivially repetitive.
                let value = generator.next() % 1000
                for (position, digit) in [(27, value / 100), (28, value / 10 % 10), (29, value % 10)] where position < length {
                    out[offset + position] = UInt8(48 + digit)
                }
                offset += length
            }
        }
        return bytes
    }

    /// Bytes that do not compress (pseudo-random).
    public static func incompressible(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed)
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset + 8 <= raw.count {
                raw.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            var tail = generator.next()
            while offset < raw.count {
                raw[offset] = UInt8(truncatingIfNeeded: tail)
                tail >>= 8
                offset += 1
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

/// A random number generator that repeats its sequence for a seed (to replay a campaign round).
public struct SeededGenerator: RandomNumberGenerator {
    private var mixer: TestPayload.SplitMix64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { mixer = TestPayload.SplitMix64(seed) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { mixer.next() }
}

/// The results the crash test's writer stores: 100 KiB to 3 MiB, inline and file-sized,
/// compressible and not, with repeats so deduplication is exercised too.
public enum CrashPayload {
    public static func bytes(seed: Int, index: Int) -> [UInt8] {
        let content = index % 7 == 6 ? index - 1 : index        // every 7th repeats the previous result
        let size = 100_000 + (content * 373_737) % 3_000_000
        let key = UInt64(seed) << 32 | UInt64(content)
        return content % 2 == 0 ? TestPayload.compressible(size, seed: key) : TestPayload.incompressible(size, seed: key)
    }
}
