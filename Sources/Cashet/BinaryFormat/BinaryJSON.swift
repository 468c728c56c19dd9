import Foundation

/// A value in cashet's binary format, written as JSON for people (`cashet get` on a terminal,
/// `show`'s preview): the format is self-describing, so no Swift type is needed.
///
/// Mapping: integers and doubles are numbers (NaN and the infinities, which JSON lacks, are the
/// strings `"NaN"`, `"Infinity"`, `"-Infinity"`); bytes are a base64 string; keyed containers are
/// objects in stored (sorted) order; sets are arrays; dictionaries with non-string keys are arrays
/// of `[key, value]` pairs; a `ResultRef` is `{"result": "<hex>"}`.
package enum BinaryJSON {
    /// Containers nested deeper than this are refused rather than followed (hostile bytes).
    static let maxDepth = 256

    /// `bytes` as JSON, indented two spaces per level when `pretty`; throws `.serialization`
    /// when they are not exactly one value of the binary format.
    package static func render(_ bytes: [UInt8], pretty: Bool = true) throws(CashetError) -> String {
        var writer = Writer(bytes: bytes, pretty: pretty)
        var offset = 0
        do {
            try writer.value(at: &offset, depth: 0)
        } catch {
            throw CashetError(.serialization, "the bytes are not a value of cashet's binary format: \(error.message)")
        }
        guard offset == bytes.count else {
            throw CashetError(.serialization, "the bytes are not one value of cashet's binary format: \(bytes.count - offset) bytes follow it")
        }
        return writer.text
    }

    /// At most `limit` characters of the value on one line (ending in "…" when cut); nil when
    /// the bytes are not the binary format.
    package static func preview(_ bytes: [UInt8], limit: Int = 80) -> String? {
        guard let text = try? render(bytes, pretty: false) else { return nil }
        return text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    private struct Writer {
        let bytes: [UInt8]
        let pretty: Bool
        var text = ""
        static let what: StaticString = "encoded value"

        mutating func value(at offset: inout Int, depth: Int) throws(CashetError) {
            guard depth <= BinaryJSON.maxDepth else {
                throw CashetError(.serialization, "values nested more than \(BinaryJSON.maxDepth) deep")
            }
            let raw = try bytes.readByte(at: &offset, what: Self.what)
            guard let tag = BinaryTag(rawValue: raw) else {
                throw CashetError(.serialization, "unknown tag 0x\(String(raw, radix: 16)) at byte \(offset - 1)")
            }
            switch tag {
            case .null: text += "null"
            case .false: text += "false"
            case .true: text += "true"
            case .signed: text += String(try bytes.readSignedVarint(at: &offset, what: Self.what))
            case .unsigned: text += String(try bytes.readVarint(at: &offset, what: Self.what))
            case .double: number(Double(bitPattern: try bytes.readFixedLittleEndian(at: &offset, what: Self.what)))
            case .string: string(try bytes.readString(at: &offset, what: Self.what))
            case .bytes:
                let length = try bytes.readLength(at: &offset, what: Self.what)
                string(Data(try bytes.readSlice(length, at: &offset, what: Self.what)).base64EncodedString())
            case .resultRef:
                let hash = try bytes.readSlice(ContentHash.byteCount, at: &offset, what: Self.what)
                text += "{\"result\":\"" + Hex.encode(Array(hash)) + "\"}"
            case .array:
                try elements(try bytes.readLength(at: &offset, what: Self.what), group: 1, at: &offset, depth: depth)
            case .unordered:
                let width = try bytes.readVarint(at: &offset, what: Self.what)
                guard width == 1 || width == 2 else { throw CashetError(.serialization, "an unordered collection of width \(width)") }
                try elements(try bytes.readLength(at: &offset, what: Self.what), group: Int(width), at: &offset, depth: depth)
            case .keyed:
                let count = try bytes.readLength(at: &offset, what: Self.what)
                text += "{"
                for index in 0..<count {
                    if index > 0 { text += "," }
                    newline(depth + 1)
                    string(try bytes.readString(at: &offset, what: Self.what))
                    text += pretty ? ": " : ":"
                    try value(at: &offset, depth: depth + 1)
                }
                if count > 0 { newline(depth) }
                text += "}"
            }
        }

        /// `count` elements, each one value (`group` 1) or a `[key, value]` pair (`group` 2).
        /// `count` comes from the bytes: it only bounds a loop whose every read is checked.
        private mutating func elements(_ count: Int, group: Int, at offset: inout Int, depth: Int) throws(CashetError) {
            text += "["
            for index in 0..<count {
                if index > 0 { text += "," }
                newline(depth + 1)
                if group == 2 {
                    text += "["
                    try value(at: &offset, depth: depth + 2)
                    text += pretty ? ", " : ","
                    try value(at: &offset, depth: depth + 2)
                    text += "]"
                } else {
                    try value(at: &offset, depth: depth + 1)
                }
            }
            if count > 0 { newline(depth) }
            text += "]"
        }

        private mutating func newline(_ depth: Int) {
            guard pretty else { return }
            text += "\n" + String(repeating: "  ", count: depth)
        }

        private mutating func number(_ value: Double) {
            if value.isNaN { return string("NaN") }
            if value.isInfinite { return string(value < 0 ? "-Infinity" : "Infinity") }
            if value == value.rounded(), abs(value) < 1e15 { text += String(format: "%.1f", value) } else { text += "\(value)" }
        }

        /// A JSON string literal: quotes, backslashes and control characters escaped.
        private mutating func string(_ value: String) {
            text += "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                // Line and paragraph separators too: JavaScript reads them as line ends.
                case _ where HumanOutput.isDisplayHazard(scalar) || (0x2028...0x2029).contains(scalar.value):
                    text += String(format: "\\u%04x", scalar.value)
                default: text.unicodeScalars.append(scalar)
                }
            }
            text += "\""
        }
    }
}
