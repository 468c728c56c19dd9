import Foundation

/// Everything cashet parses from bytes it did not write in this process — store records, the
/// binary format of results and worker messages, archives, and what people type — as fuzzing
/// targets. `Fuzz/` drives them with libFuzzer; the test suite replays their corpora.
///
/// Not API: import with `@_spi(Fuzzing) import Cashet`.
@_spi(Fuzzing)
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Commit, head, function, blob-location, blob-info and counter records of the LMDB store.
    case records
    /// ``BinarySerializer`` decoding into nested optionals, collections, strings, floats and enums.
    case binaryDecoder = "binary-decoder"
    /// A whole archive through import's verification pass (nothing is applied).
    case archive
    /// A ``ProcessExecutor`` worker's request (function identity and encoded arguments).
    case workerRequest = "worker-request"
    /// Hash prefixes and full hashes typed on the command line.
    case hashPrefix = "hash-prefix"
    /// Sizes such as `500M` (`--max-size`, `--max-result-size`).
    case size
    /// Dates and ages such as `2026-11-25` or `7d` (`--since`).
    case date

    /// Feeds `bytes` to the parser. Returns whether it accepted them; every rejection must be a
    /// thrown `CashetError`, never a crash, whatever the bytes.
    public func run(_ bytes: [UInt8]) -> Bool {
        do {
            try parse(bytes)
            return true
        } catch {
            return false
        }
    }

    private func parse(_ bytes: [UInt8]) throws(CashetError) {
        switch self {
        case .records:
            let hash = ContentHash(hashing: bytes)
            func accepts(_ decode: () throws -> Void) -> Bool { (try? decode()) != nil }
            let accepted = [
                accepts { _ = try CanonicalCommit.decodeCommit(hash: hash, bytes, details: .none) },
                accepts { _ = try StoreRecords.decodeHead(bytes) },
                accepts { _ = try CanonicalCommit.decodeFunctionDetails(bytes) },
                accepts { _ = try StoreRecords.decodeBlobLocation(bytes, hash: hash) },
                accepts { _ = try StoreRecords.BlobInfo(bytes) },
                accepts { _ = try StoreRecords.Counters(bytes) },
            ].filter { $0 }.count
            guard accepted > 0 else { throw CashetError(.corruptData, "no record decoder accepted the bytes") }
        case .binaryDecoder:
            // The fast path must agree with `init(from:)` on every input: both fail, or both
            // give values that encode to the same bytes. A disagreement is a bug in the decoder,
            // reported the way a fuzzer sees one: a crash.
            let fast = Result { () throws(CashetError) in try BinarySerializer().decode(FuzzValue.self, from: bytes) }
            let slow = Result { () throws in try BinaryDecoder(usesFastPaths: false).decode(FuzzValue.self, from: bytes) }
            switch (slow, fast) {
            case (.success(let slow), .success(let fast)):
                guard try BinarySerializer().encode(slow) == BinarySerializer().encode(fast) else {
                    fatalError("the BinaryDecodable fast path decoded another value than init(from:)")
                }
            case (.failure, .failure(let error)): throw error
            default: fatalError("the BinaryDecodable fast path and init(from:) disagree on whether the bytes decode")
            }
        case .archive:
            let path = FuzzScratch.file
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw CashetError(.storage, "cannot write \(path)")
            }
            _ = try Client.verifyArchive(at: path, maxResultSize: 1 << 24)
        case .workerRequest:
            let request = try WorkerProtocol.Request(bytes)
            if let first = request.arguments.first { _ = try BinarySerializer().decode(FuzzValue.self, from: first) }
        case .hashPrefix:
            let text = String(decoding: bytes, as: UTF8.self)
            let prefix = try HashPrefix(text)
            if let full = prefix.fullHash, full.hex != prefix.hex { throw CashetError(.invalidHash, "round trip changed \(text)") }
        case .size:
            _ = try HumanInput.size(String(decoding: bytes, as: UTF8.self), option: "--max-size")
        case .date:
            _ = try HumanInput.date(String(decoding: bytes, as: UTF8.self), option: "--since", now: Date(timeIntervalSince1970: 1_800_000_000))
        }
    }
}

/// A value shaped to reach every path of the binary decoder.
struct FuzzValue: Codable {
    enum Kind: String, Codable { case a, b, c }
    var name: String
    var count: Int
    var small: Int8
    var unsigned: UInt64
    var ratio: Double
    var flag: Bool
    var kind: Kind
    var optional: [Int?]?
    var nested: [String: [Float]]
    var set: Set<Int16>
    var bytes: [UInt8]
    var children: [FuzzValue]
}

/// The fast path `@BinaryDecodable` writes (spelled out: this module does not use the macros);
/// the target checks it against `init(from:)`.
extension FuzzValue: BinaryDecodable {
    init(binaryFields fields: inout BinaryFields) throws {
        self.bytes = try fields.next(#"bytes"#)
        self.children = try fields.next(#"children"#)
        self.count = try fields.next(#"count"#)
        self.flag = try fields.next(#"flag"#)
        self.kind = try fields.next(#"kind"#)
        self.name = try fields.next(#"name"#)
        self.nested = try fields.next(#"nested"#)
        self.optional = try fields.nextIfPresent(#"optional"#)
        self.ratio = try fields.next(#"ratio"#)
        self.set = try fields.next(#"set"#)
        self.small = try fields.next(#"small"#)
        self.unsigned = try fields.next(#"unsigned"#)
    }
}

/// One file per process for the archive target (libFuzzer runs inputs one after another).
private enum FuzzScratch {
    static let file = NSTemporaryDirectory() + "cashet-fuzz-archive-\(getpid())"
}
