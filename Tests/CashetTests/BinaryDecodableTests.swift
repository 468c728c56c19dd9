@testable import Cashet
import CashetMacros
import Foundation
import Testing

@BinaryDecodable
private struct Point: Codable, Equatable {
    var x: Double
    var y: Double
}

/// Not `@BinaryDecodable`: decoded through `Decoder` inside a fast parent. Records the coding
/// path it was decoded at.
private struct Plain: Codable, Equatable {
    var name: String
    var path: [String] = []
    private enum CodingKeys: CodingKey { case name }
    init(name: String) { self.name = name }
    init(from decoder: any Decoder) throws {
        name = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .name)
        path = decoder.codingPath.map(\.stringValue)
    }
    static func == (a: Plain, b: Plain) -> Bool { a.name == b.name }
}

/// Declared out of key order, with every kind of field the macro reads or leaves out.
@BinaryDecodable
private struct Everything: Codable, Equatable {
    var zeta: String
    var `default` = 7
    var maybe: Int?
    var nothing: Int?
    var points: [Point]
    var plain: Plain
    var étoile: [UInt8]
    var Upper: Point?
    var data: Data
    var small: Int8
    var flag: Bool?
    var ratio: Float
    var unsigned: UInt32?
    var computed: Int { zeta.count }
}

/// A hand-written conformance that says which path decoded it.
private struct Marked: BinaryDecodable, Codable {
    var id: Int
    var viaFields = false
    private enum CodingKeys: CodingKey { case id }
    init(id: Int) { self.id = id }
    init(binaryFields fields: inout BinaryFields) throws {
        id = try fields.next("id")
        viaFields = true
    }
}

/// `Marked`'s key plus one it does not know.
private struct MarkedPlusOne: Codable {
    var id: Int
    var other: String
}

@Suite("@BinaryDecodable fast path")
struct BinaryDecodableTests {
    let serializer = BinarySerializer()

    /// What `init(from:)` alone decodes from `bytes`, or nil when it fails.
    private func viaDecoder(_ bytes: [UInt8]) -> Everything? {
        try? BinaryDecoder(usesFastPaths: false).decode(Everything.self, from: bytes)
    }

    private func sample(maybe: Int? = 5) -> Everything {
        Everything(
            zeta: "z", default: 9, maybe: maybe, nothing: nil, points: [Point(x: 1, y: 2), Point(x: -0.0, y: .infinity)],
            plain: Plain(name: "p"), étoile: [1, 2, 3], Upper: Point(x: 3, y: 4), data: Data([9, 8]),
            small: -3, flag: maybe.map { $0 > 0 }, ratio: 0.5, unsigned: maybe.map(UInt32.init))
    }

    @Test("a fast value decodes to what init(from:) decodes from the same bytes, coding paths included")
    func sameAsDecoder() throws {
        for value in [sample(), sample(maybe: nil)] {
            let bytes = try serializer.encode(value)
            let fast = try serializer.decode(Everything.self, from: bytes)
            #expect(fast == value && fast == viaDecoder(bytes))
            #expect(fast.plain.path == ["plain"])
            #expect(try serializer.encode(fast) == bytes)
        }
    }

    @Test("the fast path is taken for the value's own bytes and left for bytes it does not expect")
    func fastPathIsTakenOnlyWhenItFits() throws {
        let own = try serializer.decode(Marked.self, from: try serializer.encode(Marked(id: 3)))
        #expect(own.viaFields && own.id == 3)
        // An extra key: the fast path leaves it, and init(from:) (which ignores it) decodes.
        let wider = try serializer.decode(Marked.self, from: try serializer.encode(MarkedPlusOne(id: 4, other: "x")))
        #expect(!wider.viaFields && wider.id == 4)
        // Nested in an array, each element takes the fast path.
        let array = try serializer.decode([Marked].self, from: try serializer.encode([Marked(id: 1), Marked(id: 2)]))
        #expect(array.map(\.viaFields) == [true, true] && array.map(\.id) == [1, 2])
    }

    @Test("bytes missing a field fail with the error init(from:) gives")
    func missingFieldFailsAsDecoderDoes() throws {
        let bytes = try serializer.encode(["x": 1.0])
        let fast = #expect(throws: CashetError.self) { try serializer.decode(Point.self, from: bytes) }
        let decodingError = try #require(fast?.underlying as? DecodingError)
        guard case .keyNotFound(let key, _) = decodingError else {
            Issue.record("expected keyNotFound, got \(decodingError)")
            return
        }
        #expect(key.stringValue == "y")
    }

    @Test("a value of another type under a field's key falls back and fails as init(from:) does")
    func wrongTypeFailsAsDecoderDoes() throws {
        let bytes = try serializer.encode(["x": "one", "y": "two"])
        let error = #expect(throws: CashetError.self) { try serializer.decode(Point.self, from: bytes) }
        let decodingError = try #require(error?.underlying as? DecodingError)
        guard case .typeMismatch(_, let context) = decodingError else {
            Issue.record("expected typeMismatch, got \(decodingError)")
            return
        }
        #expect(context.codingPath.map(\.stringValue) == ["x"])
    }

    @Test("every truncation and every single-byte change of a fast value decodes as init(from:) does or fails with a typed error")
    func damagedBytes() throws {
        let bytes = try serializer.encode(sample())
        for length in 0..<bytes.count {
            #expect(throws: CashetError.self) { try serializer.decode(Everything.self, from: Array(bytes[..<length])) }
        }
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x41
            // Compared encoded: a flipped byte may make a NaN, which is not equal to itself.
            let fast = (try? serializer.decode(Everything.self, from: damaged)).map { try? serializer.encode($0) }
            #expect(fast == viaDecoder(damaged).map { try? serializer.encode($0) }, "byte \(index)")
        }
    }
}
