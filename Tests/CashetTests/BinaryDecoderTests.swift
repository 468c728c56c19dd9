@testable import Cashet
import Foundation
import Testing

/// Declared out of sorted order: synthesized decoding asks for `zeta`, `alpha`, `mid`, while the
/// bytes hold `alpha`, `mid`, `zeta`.
private struct Unsorted: Codable, Equatable {
    var zeta: String
    var alpha: [Double]
    var mid: Int
}

private struct WithOptionals: Codable, Equatable {
    var present: Int?
    var absent: Int?
    var nested: Unsorted?
}

private struct Outer: Codable, Equatable {
    var items: [Unsorted]
    var inner: WithOptionals
    var label: String
}

/// Reads only some of its keys, one of them twice, through two containers.
private struct Partial: Decodable, Equatable {
    enum Keys: String, CodingKey { case alpha, mid, zeta }
    let mid: Int
    init(mid: Int) { self.mid = mid }
    init(from decoder: any Decoder) throws {
        let first = try decoder.container(keyedBy: Keys.self)
        _ = try first.decode(Int.self, forKey: .mid)
        let second = try decoder.container(keyedBy: Keys.self)
        mid = try second.decode(Int.self, forKey: .mid)
        #expect(second.allKeys.map(\.stringValue) == ["alpha", "mid", "zeta"])
        #expect(second.contains(.zeta))
    }
}

private class Base: Codable {
    var base: Int
    init(base: Int) { self.base = base }
}

private final class Derived: Base, @unchecked Sendable {
    var extra: String
    init(base: Int, extra: String) {
        self.extra = extra
        super.init(base: base)
    }
    private enum Keys: String, CodingKey { case extra }
    required init(from decoder: any Decoder) throws {
        extra = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .extra)
        try super.init(from: decoder.container(keyedBy: Keys.self).superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(extra, forKey: .extra)
        try super.encode(to: container.superEncoder())
    }
}

/// Asks its unkeyed container `decodeNil()` before each element, as hand-written conformances do.
private struct NilChecked: Decodable {
    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        while !container.isAtEnd {
            if try !container.decodeNil() { _ = try container.decode(String.self) }
        }
    }
}

@Suite("Binary decoder")
struct BinaryDecoderTests {
    private let encoder = BinaryEncoder()
    private let decoder = BinaryDecoder()

    private let sample = Outer(
        items: [Unsorted(zeta: "z", alpha: [1, 2], mid: 3), Unsorted(zeta: "ζ", alpha: [], mid: -4)],
        inner: WithOptionals(present: 7, absent: nil, nested: Unsorted(zeta: "", alpha: [.infinity], mid: 0)),
        label: "outer")

    @Test("fields asked for in any order, optionals present and absent, arrays of structs, all round-trip")
    func roundTrips() throws {
        let bytes = try encoder.encode(sample)
        #expect(try decoder.decode(Outer.self, from: bytes) == sample)
        let empty = WithOptionals(present: nil, absent: nil, nested: nil)
        #expect(try decoder.decode(WithOptionals.self, from: encoder.encode(empty)) == empty)
    }

    @Test("a key missing from the bytes decodes as nil for an optional and fails for a required field")
    func missingKeys() throws {
        let onlyMid = try encoder.encode(["mid": 5])
        let error = #expect(throws: DecodingError.self) { try decoder.decode(Unsorted.self, from: onlyMid) }
        guard case .keyNotFound(let key, _)? = error else { Issue.record("expected keyNotFound, got \(String(describing: error))"); return }
        #expect(key.stringValue == "zeta")
        #expect(try decoder.decode(WithOptionals.self, from: encoder.encode(["absent": 1])) == WithOptionals(present: nil, absent: 1, nested: nil))
    }

    @Test("a type that reads only some keys, or one key twice, still ends exactly where its value ends")
    func partialReads() throws {
        let bytes = try encoder.encode(Unsorted(zeta: "unread", alpha: [1, 2, 3], mid: 9))
        #expect(try decoder.decode(Partial.self, from: bytes) == Partial(mid: 9))
        #expect(try decoder.decode([Partial].self, from: encoder.encode([Unsorted(zeta: "a", alpha: [], mid: 1), Unsorted(zeta: "b", alpha: [2], mid: 2)])) == [Partial(mid: 1), Partial(mid: 2)])
        #expect(throws: DecodingError.self) { try decoder.decode(Partial.self, from: bytes + [0]) }
    }

    @Test("a subclass decodes its superclass's fields through superDecoder")
    func superDecoder() throws {
        let decoded = try decoder.decode(Derived.self, from: encoder.encode(Derived(base: 4, extra: "more")))
        #expect(decoded.base == 4)
        #expect(decoded.extra == "more")
    }

    @Test("an error names the coding path of the value that failed, through arrays and nested structs")
    func errorPaths() throws {
        var broken = sample
        broken.items[1].mid = 0x7f
        var bytes = try encoder.encode(broken)
        // The second item's `mid` is the only `signed` tag followed by 0x7f's zig-zag (0xfe 0x01).
        let marker: [UInt8] = [0x03, 0xfe, 0x01]
        let at = try #require((0..<bytes.count - 2).first { Array(bytes[$0..<$0 + 3]) == marker })
        bytes[at] = BinaryTag.unsigned.rawValue  // still a varint to skip, but not an Int's tag
        let error = #expect(throws: DecodingError.self) { try decoder.decode(Outer.self, from: bytes) }
        guard case .typeMismatch(_, let context)? = error else { Issue.record("expected typeMismatch, got \(String(describing: error))"); return }
        #expect(context.codingPath.map(\.stringValue) == ["items", "Index 1", "mid"])
    }

    @Test("every truncation of a nested value is a typed error, never a crash or a wrong value")
    func truncations() throws {
        let bytes = try encoder.encode(sample)
        for cut in 0..<bytes.count {
            #expect(throws: (any Error).self) { try decoder.decode(Outer.self, from: Array(bytes.prefix(cut))) }
        }
    }

    @Test("bytes that end where an optional's value should start are a typed error, never a read past the end")
    func truncatedOptionals() throws {
        // Keyed: the last key whole, its value gone.
        let keyed = try encoder.encode(WithOptionals(present: 1, absent: nil, nested: nil))
        #expect(throws: (any Error).self) { try decoder.decode(WithOptionals.self, from: Array(keyed.dropLast())) }
        // Unkeyed: a count of three, and a first element that takes every byte after it.
        let unkeyed: [UInt8] = [BinaryTag.array.rawValue, 3, BinaryTag.string.rawValue, 1, 0x61]
        #expect(throws: (any Error).self) { try decoder.decode(NilChecked.self, from: unkeyed) }
    }
}
