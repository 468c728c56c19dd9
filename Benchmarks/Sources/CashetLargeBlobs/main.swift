import Cashet
import CashetTestSupport
import Foundation

// Large-blob throughput against plain file I/O measured in the same run:
//
//   CashetLargeBlobs report            → Markdown table: store/load MB/s, bytes on disk, peak memory
//   CashetLargeBlobs threshold         → inline-vs-file cost per blob size (how fileThreshold was chosen)
//   CashetLargeBlobs store-loop SIZE N → stores N distinct SIZE MiB blobs (random when SIZE < 0), for perf
//   CashetLargeBlobs load|export STORE HASH → (internal) loads or exports one blob in a fresh process,
//                                               prints peak RSS growth
//
// Build and run from Benchmarks/: swift run -c release CashetLargeBlobs report

let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func megabytesPerSecond(_ bytes: Int, _ duration: Duration) -> Double { Double(bytes) / 1e6 / seconds(duration) }

/// Peak resident set size of this process so far, in bytes: VmHWM, which (unlike getrusage's
/// ru_maxrss) starts afresh at exec instead of inheriting the parent's peak.
func peakResidentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
    }
    return 0
}

func temporaryStore(_ configure: (inout LMDBStore.Configuration) -> Void = { _ in }) throws -> (LMDBStore, String) {
    let path = NSTemporaryDirectory() + "cashet-large-" + UUID().uuidString
    var configuration = LMDBStore.Configuration()
    configure(&configuration)
    return (try LMDBStore(path, configuration: configuration), path)
}

/// Baseline: write + fsync + rename a file, and read it back, with plain POSIX calls.
func plainFileIO(_ bytes: [UInt8], in directory: String) -> (write: Duration, read: Duration) {
    let path = directory + "/plain-\(UUID().uuidString)"
    let write = clock.measure {
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        bytes.withUnsafeBytes { _ = Foundation.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        rename(path + ".tmp", path)
    }
    var back = [UInt8](repeating: 0, count: bytes.count)
    let read = clock.measure {
        back = [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            let fd = open(path, O_RDONLY)
            count = Foundation.read(fd, buffer.baseAddress, bytes.count)
            close(fd)
        }
    }
    precondition(back == bytes)
    unlink(path)
    return (write, read)
}

func report() async throws {
    print("| result | stored on disk | store MB/s (plain write+fsync) | load MB/s (plain read) | peak RSS growth of a load in a fresh process | … of a streaming export to a file |")
    print("|---|---|---|---|---|---|")
    for (label, size, compressible) in [("8 MiB compressible", 8 << 20, true), ("8 MiB random", 8 << 20, false),
                                        ("64 MiB compressible", 64 << 20, true), ("64 MiB random", 64 << 20, false)] {
        let (store, path) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var stores: [Duration] = [], loads: [Duration] = [], plainWrites: [Duration] = [], plainReads: [Duration] = []
        var lastHash: ContentHash?
        for round in 0..<3 {
            let bytes = compressible ? TestPayload.compressible(size, seed: UInt64(round)) : TestPayload.incompressible(size, seed: UInt64(round))
            let plain = plainFileIO(bytes, in: path)
            plainWrites.append(plain.write)
            plainReads.append(plain.read)
            var ref: ObjectRef?
            stores.append(try await clock.measure { ref = try await store.putBlob(bytes) })
            var loaded: [UInt8] = []
            loads.append(try await clock.measure { loaded = try await store.blob(ref!.hash) })
            precondition(loaded == bytes)
            lastHash = ref!.hash
        }
        let onDisk = allocatedBytes(under: path + "/objects") / 3
        let memory = try measurePeakMemory("load", storePath: path, hash: lastHash!)
        let exportMemory = try measurePeakMemory("export", storePath: path, hash: lastHash!)
        func best(_ durations: [Duration]) -> Duration { durations.min()! }
        print(String(format: "| %@ | %.1f MiB (%.1f×) | %.0f (%.0f) | %.0f (%.0f) | %.1f MiB (%.2f× the result) | %.1f MiB |",
                     label, Double(onDisk) / 1048576, Double(size) / Double(max(onDisk, 1)),
                     megabytesPerSecond(size, best(stores)), megabytesPerSecond(size, best(plainWrites)),
                     megabytesPerSecond(size, best(loads)), megabytesPerSecond(size, best(plainReads)),
                     Double(memory) / 1048576, Double(memory) / Double(size), Double(exportMemory) / 1048576))
    }
}

/// Runs `load` or `export` in a child process so earlier allocations do not hide the peak.
func measurePeakMemory(_ operation: String, storePath: String, hash: ContentHash) throws -> Int {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = [operation, storePath, hash.hex]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
}

/// Loads the blob into memory, or streams it to a file, and prints how much the peak RSS grew.
func measureInFreshProcess(_ operation: String, storePath: String, hex: String) async throws {
    var configuration = LMDBStore.Configuration()
    configuration.readOnly = true
    let store = try LMDBStore(storePath, configuration: configuration)
    let hash = try ContentHash(hex: hex)
    let before = peakResidentBytes()
    if operation == "load" {
        let bytes = try await store.blob(hash)
        precondition(!bytes.isEmpty)
    } else {
        let target = storePath + "/../export-\(UUID().uuidString)"
        let descriptor = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(descriptor); unlink(target) }
        try await store.exportBlob(hash, toFileDescriptor: descriptor)
    }
    let after = peakResidentBytes()
    FileHandle.standardError.write(Data("\(operation): peak RSS \(before) → \(after)\n".utf8))
    print(after - before)
}

/// Per-blob cost of put + load inline (LMDB value) versus as a file, by size.
func threshold() async throws {
    print("| blob size | inline put+load µs | file put+load µs | file/inline | same, without fsync: inline | file | file/inline |")
    print("|---|---|---|---|---|---|---|")
    for size in [16 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 4 << 20] {
        var costs: [Double] = []
        for (fileThreshold, durability) in [(Int.max, LMDBStore.Configuration.Durability.durable), (0, .durable), (Int.max, .noSync), (0, .noSync)] {
            let (store, path) = try temporaryStore {
                $0.fileThreshold = fileThreshold
                $0.durability = durability
            }
            defer { try? FileManager.default.removeItem(atPath: path) }
            let count = max(8, min(200, (64 << 20) / size))
            let payloads = (0..<count).map { TestPayload.compressible(size, seed: UInt64($0)) }
            let elapsed = try await clock.measure {
                for bytes in payloads {
                    let ref = try await store.putBlob(bytes)
                    let loaded = try await store.blob(ref.hash)
                    precondition(loaded.count == size)
                }
            }
            costs.append(seconds(elapsed) / Double(count) * 1e6)
        }
        print(String(format: "| %d KiB | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |", size >> 10, costs[0], costs[1], costs[1] / costs[0],
                     costs[2], costs[3], costs[3] / costs[2]))
    }
}

let arguments = CommandLine.arguments
switch arguments.dropFirst().first {
case "report": try await report()
case "threshold": try await threshold()
case "store-loop" where arguments.count == 4:
    // For profilers: stores COUNT distinct blobs of SIZE MiB (random when SIZE is negative).
    let (store, path) = try temporaryStore()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let size = Int(arguments[2])!
    for round in 0..<Int(arguments[3])! {
        let bytes = size < 0 ? TestPayload.incompressible(-size << 20, seed: UInt64(round)) : TestPayload.compressible(size << 20, seed: UInt64(round))
        _ = try await store.putBlob(bytes)
    }
case "load" where arguments.count == 4, "export" where arguments.count == 4:
    try await measureInFreshProcess(arguments[1], storePath: arguments[2], hex: arguments[3])
default:
    print("usage: CashetLargeBlobs report | threshold")
    exit(2)
}
