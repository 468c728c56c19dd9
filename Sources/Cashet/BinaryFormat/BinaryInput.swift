/// The bytes one ``BinaryDecoder/decode(_:from:)`` call reads, and the little state its
/// containers share.
///
/// One allocation per decode. Every decoder and container of that call holds this object and an
/// offset, so none copies or retains the byte array per read, and a `NodeDecoder` fits an
/// existential's inline buffer (no box per nested value).
final class BinaryInput {
    let bytes: [UInt8]
    // What the containers share, by depth. Depth 0 (the top-level value's own fields) lives in
    // fields of its own, so a flat struct's decode allocates neither array.
    //
    // Unchecked exclusivity: only this class's methods touch these, none reentrantly, and a
    // decode runs on one thread; the dynamic check cost more than the update it guarded.

    /// The key under which each nested value being decoded sits in its parent: a coding path is
    /// built from these only when an error or a type asks for one.
    @exclusivity(unchecked) private var topStep: PathStep?
    @exclusivity(unchecked) private var deeperSteps: [PathStep] = []
    /// Where the keyed container open at each depth stands (see ``KeyCursor``).
    @exclusivity(unchecked) private var topCursor = KeyCursor()
    @exclusivity(unchecked) private var deeperCursors: [KeyCursor] = []

    /// See ``BinaryDecoder/usesFastPaths``.
    let usesFastPaths: Bool

    init(_ bytes: [UInt8], usesFastPaths: Bool = true) {
        self.bytes = bytes
        self.usesFastPaths = usesFastPaths
    }

    static let what: StaticString = "encoded value"

    // MARK: Coding paths

    func codingPath(depth: Int) -> [any CodingKey] {
        guard depth > 0, let topStep else { return [] }
        return ([topStep] + deeperSteps.prefix(depth - 1)).map(key(of:))
    }

    func codingPath(depth: Int, appending key: any CodingKey) -> [any CodingKey] { codingPath(depth: depth) + [key] }

    /// Records that the value at `depth + 1` is the one under `key` of its parent at `depth`.
    func enter(_ key: any CodingKey, depth: Int) { record(.key(key), depth: depth) }

    /// Records that the value at `depth + 1` is the one whose key is stored at
    /// `start..<start + length`: what ``BinaryFields`` knows, kept as two integers until a path
    /// is asked for.
    func enter(storedKeyAt start: Int, length: Int, depth: Int) { record(.storedKey(start: start, length: length), depth: depth) }

    private func record(_ step: PathStep, depth: Int) {
        guard depth > 0 else { topStep = step; return }
        if deeperSteps.count >= depth { deeperSteps[depth - 1] = step } else {
            while deeperSteps.count < depth - 1 { deeperSteps.append(.key(PathKey(intValue: deeperSteps.count))) }
            deeperSteps.append(step)
        }
    }

    private func key(of step: PathStep) -> any CodingKey {
        switch step {
        case .key(let key): key
        case .storedKey(let start, let length): PathKey(stringValue: String(decoding: bytes[start..<start + length], as: UTF8.self))
        }
    }

    // MARK: Keyed containers

    /// Runs `body` on the cursor of `depth` in place (a cursor is six words: copying it out
    /// and back cost more than the lookups it speeds up).
    @inline(__always)
    func withCursor<R>(depth: Int, _ body: (inout KeyCursor) throws -> R) rethrows -> R {
        if depth == 0 { return try body(&topCursor) }
        while deeperCursors.count < depth { deeperCursors.append(KeyCursor()) }
        return try body(&deeperCursors[depth - 1])
    }

    // MARK: Reads of the value format

    func readByte(at offset: inout Int) throws(CashetError) -> UInt8 { try bytes.readByte(at: &offset, what: Self.what) }
    func readVarint(at offset: inout Int) throws(CashetError) -> UInt64 { try bytes.readVarint(at: &offset, what: Self.what) }
    func readLength(at offset: inout Int) throws(CashetError) -> Int { try bytes.readLength(at: &offset, what: Self.what) }
    func advance(_ length: Int, at offset: inout Int) throws(CashetError) -> Int { try bytes.advance(length, at: &offset, what: Self.what) }

    /// Whether the value at `offset` is null; a value cut off before its tag is truncation.
    func isNull(at offset: Int) throws(CashetError) -> Bool {
        var position = offset
        return try readByte(at: &position) == BinaryTag.null.rawValue
    }

    /// Reads a tag and checks it is `expected` (or `alternative`). Not variadic: this runs for
    /// every value decoded, and a variadic parameter allocates an array per call.
    @discardableResult
    func expectTag(_ expected: BinaryTag, or alternative: BinaryTag? = nil, for type: Any.Type, at offset: inout Int) throws -> BinaryTag {
        let raw = try readByte(at: &offset)
        if raw == expected.rawValue { return expected }
        guard let tag = BinaryTag(rawValue: raw), tag == alternative else {
            throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "expected \(type) but found binary tag 0x\(String(raw, radix: 16)) at byte \(offset - 1)"))
        }
        return tag
    }

    /// Reads an integer of any width; signed and unsigned integers have their own tags.
    func readInteger<T: FixedWidthInteger>(_ type: T.Type, at offset: inout Int) throws -> T {
        let exact: T?
        if T.isSigned {
            try expectTag(.signed, for: T.self, at: &offset)
            exact = T(exactly: try bytes.readSignedVarint(at: &offset, what: Self.what))
        } else {
            try expectTag(.unsigned, for: T.self, at: &offset)
            exact = T(exactly: try readVarint(at: &offset))
        }
        guard let exact else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the stored integer does not fit \(T.self)"))
        }
        return exact
    }

    func readDouble(at offset: inout Int) throws -> Double {
        try expectTag(.double, for: Double.self, at: &offset)
        return Double(bitPattern: try bytes.readFixedLittleEndian(at: &offset, what: Self.what))
    }

    func readString(at offset: inout Int) throws -> String {
        try expectTag(.string, for: String.self, at: &offset)
        return try bytes.readString(at: &offset, what: Self.what)
    }

    /// The raw payload of a `.bytes` value.
    func readRawBytes(for type: Any.Type, at offset: inout Int) throws -> ArraySlice<UInt8> {
        try expectTag(.bytes, for: type, at: &offset)
        return try bytes.readSlice(try readLength(at: &offset), at: &offset, what: Self.what)
    }

    /// Moves past one complete value of any type.
    func skipValue(at offset: inout Int) throws {
        let raw = try readByte(at: &offset)
        guard let tag = BinaryTag(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unknown binary tag 0x\(String(raw, radix: 16)) at byte \(offset - 1)"))
        }
        switch tag {
        case .null, .false, .true: return
        case .signed, .unsigned: _ = try readVarint(at: &offset)
        case .double: _ = try advance(8, at: &offset)
        case .string, .bytes: _ = try advance(try readLength(at: &offset), at: &offset)
        case .resultRef: _ = try advance(ContentHash.byteCount, at: &offset)
        case .array:
            for _ in 0..<(try readLength(at: &offset)) { try skipValue(at: &offset) }
        case .keyed:
            for _ in 0..<(try readLength(at: &offset)) {
                _ = try advance(try readLength(at: &offset), at: &offset)
                try skipValue(at: &offset)
            }
        case .unordered:
            _ = try readVarint(at: &offset)
            for _ in 0..<(try readLength(at: &offset)) { try skipValue(at: &offset) }
        }
    }
}

/// The entries of one keyed container: its tag's offset (its identity), where its entries
/// start, and how many there are.
struct KeyedContainerSpan {
    let start: Int
    let entries: Int
    let count: Int
}

/// Where a keyed container stands in its entries, so that fields asked for in stored (sorted)
/// order cost one pass over the bytes instead of a table of every entry.
///
/// A hint, never trusted alone: it names the container it belongs to by the offset of its tag,
/// and every key is compared before its value is used.
struct KeyCursor {
    /// The offset of the container's tag; -1 for no container.
    var container = -1
    /// Index and key span of the entry found last (`contains` then `decode` asks for it twice).
    var lastIndex = -1
    var lastKeyStart = 0
    var lastKeyLength = 0
    /// Where the last entry's value starts, and where it ends once a read has told (-1 until then).
    var lastValue = 0
    var lastValueEnd = -1
}

extension BinaryInput {
    func keyedContainer(at offset: Int) throws -> KeyedContainerSpan {
        var position = offset
        try expectTag(.keyed, for: [String: Any].self, at: &position)
        let count = try readLength(at: &position)
        return KeyedContainerSpan(start: offset, entries: position, count: count)
    }

    /// The offset of the value stored under `name`, or nil when the container has no such key.
    func valueOffset(of name: String, in container: KeyedContainerSpan, depth: Int) throws -> Int? {
        var name = name
        return try name.withUTF8 { try valueOffset(ofKey: $0, in: container, depth: depth) }
    }

    private func valueOffset(ofKey key: UnsafeBufferPointer<UInt8>, in container: KeyedContainerSpan, depth: Int) throws -> Int? {
        try withCursor(depth: depth) { cursor in
            if cursor.container != container.start { cursor = KeyCursor(container: container.start) }
            if cursor.lastIndex >= 0, bytes.bytesEqual(key, at: cursor.lastKeyStart, length: cursor.lastKeyLength) { return cursor.lastValue }
            // From the entry after the last one found, wrapping around to the first.
            var index = cursor.lastIndex + 1
            var position = try resumePosition(of: cursor, in: container)
            for _ in 0..<container.count {
                if index == container.count { (index, position) = (0, container.entries) }
                let keyLength = try readLength(at: &position)
                let keyStart = try advance(keyLength, at: &position)
                if bytes.bytesEqual(key, at: keyStart, length: keyLength) {
                    (cursor.lastIndex, cursor.lastKeyStart, cursor.lastKeyLength) = (index, keyStart, keyLength)
                    (cursor.lastValue, cursor.lastValueEnd) = (position, -1)
                    return position
                }
                try skipValue(at: &position)
                index += 1
            }
            return nil
        }
    }

    /// Where the entry after the cursor's last one starts.
    private func resumePosition(of cursor: KeyCursor, in container: KeyedContainerSpan) throws -> Int {
        guard cursor.lastIndex >= 0 else { return container.entries }
        guard cursor.lastValueEnd < 0 else { return cursor.lastValueEnd }
        var position = cursor.lastValue
        try skipValue(at: &position)
        return position
    }

    /// Remembers where the value last found at `depth` ends, so the next key is read without
    /// skipping over that value again.
    func noteValueEnd(_ end: Int, ofValueAt offset: Int, depth: Int) {
        withCursor(depth: depth) { cursor in
            if cursor.lastValue == offset, cursor.lastIndex >= 0 { cursor.lastValueEnd = end }
        }
    }

    /// The offset just past the value at `offset`. A keyed container read at `depth` resumes
    /// from its last entry read, so only entries its type never asked for are skipped.
    func endOfValue(at offset: Int, depth: Int) throws -> Int {
        var position = offset
        let cursor = withCursor(depth: depth) { $0 }
        guard cursor.container == offset else {
            try skipValue(at: &position)
            return position
        }
        let container = try keyedContainer(at: offset)
        position = try resumePosition(of: cursor, in: container)
        for _ in (cursor.lastIndex + 1)..<max(container.count, cursor.lastIndex + 1) {
            _ = try advance(try readLength(at: &position), at: &position)
            try skipValue(at: &position)
        }
        return position
    }

    /// Every key of the container, in stored order (keys that are not UTF-8 are left out).
    func keyNames(of container: KeyedContainerSpan) -> [String] {
        var names: [String] = []
        var position = container.entries
        for _ in 0..<container.count {
            guard let keyLength = try? readLength(at: &position), let keyStart = try? advance(keyLength, at: &position) else { break }
            if let name = String(validating: bytes[keyStart..<keyStart + keyLength], as: UTF8.self) { names.append(name) }
            guard (try? skipValue(at: &position)) != nil else { break }
        }
        return names
    }
}

/// One step of a coding path as decoding records it.
enum PathStep {
    /// A key a container was asked for.
    case key(any CodingKey)
    /// A key read from the bytes, by where it is (bounds already checked when it was read).
    case storedKey(start: Int, length: Int)
}

/// A coding key in a coding path: an element's index, or a name the decoder made up ("super").
struct PathKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { (self.stringValue, self.intValue) = (stringValue, nil) }
    init(intValue: Int) { (self.stringValue, self.intValue) = ("Index \(intValue)", intValue) }
}
