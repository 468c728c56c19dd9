import Cashet
import HTTPTypes
import Hummingbird

/// A result's bytes over HTTP: `ETag` is the result's SHA-256 (it names the bytes, so they are
/// cacheable forever), `Range` is served (one range; a list of them gets the whole result, as
/// RFC 9110 allows), and a result above ``memoryLimit`` streams from a spooled copy.
struct ResultBytes {
    let client: Client

    /// Results up to this size are read into memory; larger ones are spooled to a temporary file.
    static let memoryLimit = 8 << 20
    /// The size of each chunk a spooled result is sent in.
    static let chunkSize = 1 << 20

    func respond(to request: Request, hash: String) async throws -> Response {
        let (_, output) = try await client.output(named: hash)
        let etag = "\"\(output.hash.hex)\""
        var headers: HTTPFields = [
            .eTag: etag, .cacheControl: "public, max-age=31536000, immutable", .acceptRanges: "bytes",
            .contentType: "application/octet-stream",
        ]
        if let match = request.headers[.ifNoneMatch], match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        let size = output.size
        var range = 0..<size
        var status = HTTPResponse.Status.ok
        if let header = request.headers[.range], request.headers[.ifRange].map({ $0 == etag }) ?? true {
            switch Self.byteRange(header, size: size) {
            case .whole: break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            case .part(let part):
                range = part
                status = .partialContent
                headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound - 1)/\(size)"
            }
        }
        headers[.contentLength] = String(range.count)
        if request.method == .head { return Response(status: status, headers: headers) }
        if size <= Self.memoryLimit {
            let bytes = try await client.bytes(of: output)
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes[range])))
        }
        let spooled = try await client.spool(output)
        let body = ResponseBody(contentLength: range.count) { [range] writer in
            var offset = range.lowerBound
            while offset < range.upperBound {
                let chunk = try spooled.read(at: offset, count: min(Self.chunkSize, range.upperBound - offset))
                guard !chunk.isEmpty else { throw CashetError(.corruptData, "result \(output.hash.hex) ended early while being sent") }
                try await writer.write(ByteBuffer(bytes: chunk))
                offset += chunk.count
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    enum ByteRange: Equatable {
        case whole
        case part(Range<Int>)
        case unsatisfiable
    }

    /// Reads `Range: bytes=…` against a result of `size` bytes: `a-b`, `a-` and `-n` (the last
    /// n bytes). Anything else, or more than one range, is served whole; a range that starts past
    /// the end is unsatisfiable.
    static func byteRange(_ header: String, size: Int) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let bounds = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2 else { return .whole }
        let (first, last) = (bounds[0].isEmpty ? nil : Int(bounds[0]), bounds[1].isEmpty ? nil : Int(bounds[1]))
        if bounds[0].isEmpty {
            // A suffix: the last n bytes.
            guard let count = last, count > 0 else { return bounds[1].isEmpty ? .whole : .unsatisfiable }
            return size == 0 ? .unsatisfiable : .part(max(0, size - count)..<size)
        }
        guard let start = first, start >= 0, bounds[1].isEmpty || (last ?? -1) >= start else { return .whole }
        guard start < size else { return .unsatisfiable }
        return .part(start..<min(size, (last ?? (size - 1)) + 1))
    }
}
