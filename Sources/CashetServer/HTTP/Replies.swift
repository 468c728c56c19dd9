import Cashet
import HTTPTypes
import Hummingbird

/// Responses the routes build.
enum Reply {
    /// One JSON value (the CLI's `--json` encoding: snake-case keys, sorted).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws(CashetError) -> Response {
        json(text: try HumanOutput.jsonLine(value), status: status)
    }

    static func json(text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A page of HTML.
    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    /// A redirect to `location` (a path on this server) after a form.
    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}
