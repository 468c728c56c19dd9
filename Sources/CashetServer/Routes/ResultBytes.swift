import Cashet
import HTTPTypes
import Hummingbird

/// A result's bytes over HTTP: `ETag` is the result's SHA-256; a URL naming a full hash is
/// cacheable forever (`immutable`), a prefix only with revalidation (it may name another commit
/// later); behind a token, only the browser caches (`private`). `Range` is served (one range; a
/// list, or one that does not parse, gets the whole result, as RFC 9110 allows), and a result
/// above ``memoryLimit`` streams from a spooled copy, at most ``spoolGate``'s permits at once.
struct ResultBytes {
    let client: Client
    /// Whether the server needs a token: shared caches must not keep what it sends.
    let isPrivate: Bool

    /// Spooled copies being sent at once, at most; more requests for large results wait.
    static let spoolGate = Gate(permits: 4)

    /// Results up to this size are read into memory; larger ones are spooled to a temporary file.
    static let memoryLimit = 8 << 20
    /// The size of each chunk a spooled result is sent in.
    static let chunkSize = 1 << 20

    func respond(to request: Request, hash: String, output: ObjectRef) async throws -> Response {
        let etag = "\"\(output.hash.hex)\""
        let lifetime = hash.count == 64 ? "max-age=31536000, immutable" : "no-cache"
        var headers: HTTPFields = [
            .eTag: etag, .cacheControl: (isPrivate ? "private, " : "public, ") + lifetime, .acceptRanges: "bytes",
            .contentType: "application/octet-stream",
        ]
        // Weak comparison (RFC 9110 §13.1.2): `W/"…"` matches too.
        if let match = request.headers[.ifNoneMatch],
           match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "") == etag }) {
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
        let permit = await Self.spoolGate.enter()
        let spooled: SpooledResult
        do {
            spooled = try await client.spool(output)
        } catch {
            await permit.leave()
            throw error
        }
        let body = ResponseBody(contentLength: range.count) { [range] writer in
            do {
                var offset = range.lowerBound
                while offset < range.upperBound {
                    let chunk = try spooled.read(at: offset, count: min(Self.chunkSize, range.upperBound - offset))
                    guard !chunk.isEmpty else { throw CashetError(.corruptData, "result \(output.hash.hex) ended early while being sent") }
                    try await writer.write(ByteBuffer(bytes: chunk))
                    offset += chunk.count
                }
                try await writer.finish(nil)
            } catch {
                await permit.leave()
                throw error
            }
            await permit.leave()
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
        let digits = { (text: Substring) in !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        if bounds[0].isEmpty {
            // A suffix: the last n bytes.
            guard digits(bounds[1]), let count = last else { return .whole }
            return count == 0 || size == 0 ? .unsatisfiable : .part(max(0, size - count)..<size)
        }
        guard digits(bounds[0]), let start = first, bounds[1].isEmpty || (digits(bounds[1]) && last != nil) else { return .whole }
        if let last, last < start { return .whole }
        guard start < size else { return .unsatisfiable }
        // `last` may be as large as Int.max: clamp before adding one.
        return .part(start..<(last.map { min($0, size - 1) + 1 } ?? size))
    }
}
