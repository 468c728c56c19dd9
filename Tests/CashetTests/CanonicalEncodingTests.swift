@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

struct Nested: Codable, Equatable, Sendable {
    var id: Int
    var name: String?
    var scores: [Double]
    var tags: Set<String>
    var matrix: [[Int8]]
    var byKey: [String: UInt64]
    var byNumber: [Int: String]
    var byPair: [Pair: Bool]
    var data: Data
    var raw: [UInt8]
    var flag: Bool
    var when: Date
    var maybe: Int?
}

struct Pair: Codable, Hashable, Sendable {
    var a: Int
    var b: String
}

@Suite("Canonical binary format")
struct CanonicalEncodingTests {
    static let sample = Nested(
        id: -42, name: "héllo", scores: [1.5, -0.0, .infinity, 3e-300], tags: ["b", "a", "c"],
        matrix: [[1, -2], [], [127]], byKey: ["z": 1, "a": .max], byNumber: [3: "three", -1: "minus"],
        byPair: [Pair(a: 1, b: "x"): true, Pair(a: 2, b: "y"): false], data: Data([0, 255, 7]), raw: [9, 8, 7],
        flag: true, when: Date(timeIntervalSince1970: 1_700_000_000.25), maybe: nil)

    @Test("a nested value round-trips bit-exactly through the binary serializer")
    func roundTrip() throws {
        let serializer = BinarySerializer()
        let bytes = try serializer.encode(Self.sample)
        #expect(try serializer.decode(Nested.self, from: bytes) == Self.sample)
        // Canonical: encoding the decoded value gives the same bytes.
        #expect(try serializer.encode(try serializer.decode(Nested.self, from: bytes)) == bytes)
    }

    @Test("the canonical format is pinned: changing it would invalidate every existing cache")
    func goldenBytes() throws {
        let encoder = BinaryEncoder()
        // keyed(2) "a" → signed zig-zag(-2)=3, "b" → signed zig-zag(1)=2, sorted by key
        #expect(try encoder.encode(["b": 1, "a": -2]) == [0x09, 2, 1, 0x61, 0x03, 3, 1, 0x62, 0x03, 2])
        // unordered(width 1, 2 elements) sorted by encoded bytes: "x" < "y"
        #expect(try encoder.encode(Set(["y", "x"])) == [0x0A, 1, 2, 0x06, 1, 0x78, 0x06, 1, 0x79])
        #expect(try encoder.encode(Double.nan) == [0x05, 0, 0, 0, 0, 0, 0, 0xF8, 0x7F])
        #expect(try encoder.encode(UInt16(300)) == [0x04, 0xAC, 0x02])
        #expect(try encoder.encode([true, false]) == [0x08, 2, 0x02, 0x01])
        #expect(try encoder.encode(Optional<Int>.none) == [0x00])
        let call = CachedFunction("golden", version: "1") { (x: Int, s: String) in x }
        // Both halves computed independently (Python hashlib): sha256(b"cashet.named\0golden\01")
        // and sha256(bytes([2, 0x03, 14, 0x06, 5]) + b"seven").
        #expect(try call.fingerprint(7, "seven").description ==
            "8fe693e0e1ae26f2964caeac73d92ddb4165d757514e85398bb5d4b62c929654:852201b00e108c0d07b6611f910b8fdb809738dfac19c604d0e6f59c328be0d4")
    }

    @Test("dictionaries and sets encode the same whatever their insertion order")
    func orderIndependence() throws {
        var forward: [String: Int] = [:], backward: [String: Int] = [:]
        var pairsForward: [Pair: Int] = [:], pairsBackward: [Pair: Int] = [:]
        let keys = (0..<200).map { "key-\($0)" }
        for (i, key) in keys.enumerated() { forward[key] = i; pairsForward[Pair(a: i, b: key)] = i }
        for (i, key) in keys.enumerated().reversed() { backward[key] = i; pairsBackward[Pair(a: i, b: key)] = i }
        let encoder = BinaryEncoder()
        #expect(try encoder.encode(forward) == encoder.encode(backward))
        #expect(try encoder.encode(pairsForward) == encoder.encode(pairsBackward))
        #expect(try encoder.encode(Set(keys)) == encoder.encode(Set(keys.reversed())))
    }

    @Test("every NaN encodes alike; -0.0 and +0.0 differ; Float widens exactly")
    func floatRules() throws {
        let encoder = BinaryEncoder()
        let quiet = Double.nan, signalling = Double.signalingNaN, negative = -Double.nan
        #expect(try encoder.encode(quiet) == encoder.encode(signalling))
        #expect(try encoder.encode(quiet) == encoder.encode(negative))
        #expect(try encoder.encode(-0.0) != encoder.encode(0.0))
        #expect(try encoder.encode(Float(0.1)) == encoder.encode(Double(Float(0.1))))
        #expect(try BinaryDecoder().decode(Float.self, from: encoder.encode(Float(0.1))) == Float(0.1))
    }

    @Test("integer widths share one encoding; signed and unsigned do not")
    func integerRules() throws {
        let encoder = BinaryEncoder()
        #expect(try encoder.encode(Int8(5)) == encoder.encode(Int64(5)))
        #expect(try encoder.encode(UInt8(5)) == encoder.encode(UInt64(5)))
        #expect(try encoder.encode(Int(5)) != encoder.encode(UInt(5)))
        #expect(throws: (any Error).self) { try BinaryDecoder().decode(Int8.self, from: encoder.encode(300)) }
    }

    @Test("the direct primitive path and the Encoder path give the same bytes")
    func primitivePathsAgree() throws {
        struct Wrapper: Encodable { let value: [String] }
        let viaEncoder = try BinaryEncoder().encode(Wrapper(value: ["x", "y"]))
        var writer = ByteWriter()
        writer.appendTag(.keyed); writer.appendVarint(1); writer.appendString("value")
        writer.appendTag(.array); writer.appendVarint(2)
        "x".writeBinary(to: &writer); "y".writeBinary(to: &writer)
        #expect(viaEncoder == writer.bytes)
    }

    @Test("truncated or garbage bytes give a typed serialization error, never a crash")
    func corruptInput() throws {
        let bytes = try BinarySerializer().encode(Self.sample)
        for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: CashetError.self) { try BinarySerializer().decode(Nested.self, from: Array(bytes.prefix(cut))) }
        }
        #expect(throws: CashetError.self) { try BinarySerializer().decode(Nested.self, from: [0xFF, 0x00]) }
        #expect(throws: CashetError.self) { try BinarySerializer().decode(Nested.self, from: bytes + [0]) }
    }

    @Test("JSON and raw-bytes serializers round-trip their types; raw rejects others clearly")
    func otherSerializers() throws {
        let json = JSONSerializer()
        #expect(try json.decode(Nested.self, from: json.encode(Self.sample)) == Self.sample)
        #expect(String(decoding: try json.encode(["b": 1, "a": 2]), as: UTF8.self) == #"{"a":2,"b":1}"#)
        let raw = RawBytesSerializer()
        #expect(try raw.encode("héllo") == Array("héllo".utf8))
        #expect(try raw.decode(String.self, from: Array("héllo".utf8)) == "héllo")
        #expect(try raw.decode(Data.self, from: [1, 2]) == Data([1, 2]))
        let error = #expect(throws: CashetError.self) { try raw.encode(42) }
        #expect(error?.code == .serialization)
        #expect(error?.message.contains("Int") == true)
    }

    @Test("hex and hash prefixes parse strictly")
    func hashes() throws {
        let hash = SHA256Hasher.hash(Array("abc".utf8))
        #expect(hash.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try ContentHash(hex: hash.hex) == hash)
        #expect(try HashPrefix("BA78").matches(hash.bytes))
        #expect(try HashPrefix("ba781").matches(hash.bytes))
        #expect(try !HashPrefix("ba782").matches(hash.bytes))
        #expect(throws: CashetError.self) { try HashPrefix("ba7") }
        #expect(throws: CashetError.self) { try HashPrefix("xyz12") }
        #expect(throws: CashetError.self) { try ContentHash(hex: "abc") }
    }

    @Test("xxHash and zstd wrappers match their reference behaviour")
    func codecs() throws {
        // XXH3-64 of the empty input is a published constant.
        #expect(XXHash.hash64([]) == 0x2D06_8005_38D3_94C2)
        #expect(XXHash.hash64(Array("abc".utf8)) != XXHash.hash64(Array("abd".utf8)))
        let input = [UInt8](repeating: 7, count: 100_000)
        let frame = try Zstd.compress(input, level: 3)
        #expect(frame.count < 1000)
        #expect(try Zstd.decompress(frame[...], expectedSize: input.count) == input)
        #expect(throws: CashetError.self) { try Zstd.decompress(frame[...], expectedSize: input.count - 1) }
    }

    @Test("a frame that claims more than 64 MiB streams into an array that grows with what comes out: whole frames load, truncated or trailing bytes are damage")
    func zstdBeyondTheTrustedAllocation() throws {
        let input = [UInt8](repeating: 3, count: Zstd.trustedAllocation + (16 << 20))
        let frame = try Zstd.compress(input, level: 1)
        #expect(try Zstd.decompress(frame[...], expectedSize: input.count) == input)
        let truncated = #expect(throws: CashetError.self) { try Zstd.decompress(frame.dropLast(3), expectedSize: input.count) }
        #expect(truncated?.code == .corruptData)
        let trailing = #expect(throws: CashetError.self) { try Zstd.decompress((frame + [0, 1, 2])[...], expectedSize: input.count) }
        #expect(trailing?.code == .corruptData, "\(String(describing: trailing))")
    }
}
