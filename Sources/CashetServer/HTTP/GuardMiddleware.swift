import Cashet
import HTTPTypes
import Hummingbird

/// Runs around every request: checks the token (or, without one, that the request names this
/// machine), turns errors into answers (JSON under `/api/`, a page elsewhere), and adds the
/// security headers to every response.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    /// What every response carries. Pages run no script at all (`script-src` is not allowed, so
    /// nothing in stored data can run), load nothing from elsewhere, and are never framed.
    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy: "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Frame-Options")!: "DENY",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        let isAPI = request.uri.path.hasPrefix("/api/") || request.uri.path == "/api"
        do {
            if let token {
                if !Self.isOpen(request), !Self.authorized(request, token: token) { throw APIError.unauthorized }
            } else if !Self.namesLoopback(request) {
                // Without a token only loopback is served; a page of another site whose name was
                // re-pointed at 127.0.0.1 (DNS rebinding) still sends its own name as Host.
                throw APIError(.misdirectedRequest, "wrong_host", "this server answers requests for localhost or 127.0.0.1 only; serve with a token to use other names", exitStatus: ExitStatus.usage)
            }
            response = try await next(request, context)
        } catch {
            let answer: APIError
            switch error {
            case let error as APIError: answer = error
            case let error as CashetError: answer = APIError(error)
            case let error as any HTTPResponseError where error.status == .notFound: answer = .notFound
            case let error as any HTTPResponseError:
                answer = APIError(error.status, "bad_request", "the request could not be read (\(error.status.code))", exitStatus: ExitStatus.usage)
            default:
                context.logger.error("request failed: \(String(describing: error))")
                answer = APIError(.internalServerError, "internal", "the server failed on this request; its log says why")
            }
            response = isAPI ? Reply.json(text: answer.json, status: answer.status) : Reply.html(Pages.error(answer, loginForm: answer.status == .unauthorized), status: answer.status)
            if answer.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        }
        for field in Self.securityHeaders { response.headers[field.name] = field.value }
        return response
    }

    /// The login form and the stylesheet need no token.
    private static func isOpen(_ request: Request) -> Bool {
        request.uri.path == "/login" || request.uri.path == "/static/style.css"
    }

    /// The bearer token in `Authorization`, or the cookie the login page sets.
    static func authorized(_ request: Request, token: String) -> Bool {
        if authorizedByHeader(request, token: token) { return true }
        guard let cookie = request.cookies[cookieName] else { return false }
        return constantTimeEqual(cookie.value, cookieValue(for: token))
    }

    /// Whether the request carries the token in its `Authorization` header: what mutations
    /// need (a cookie would let another site's form post to them).
    static func authorizedByHeader(_ request: Request, token: String?) -> Bool {
        guard let token, let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return constantTimeEqual(String(header.dropFirst("Bearer ".count)), token)
    }

    static var cookieName: String { "cashet_session" }

    /// What the login cookie holds: a hash of the token, not the token, so the browser never
    /// stores the bearer credential (and the cookie cannot be replayed as one).
    static func cookieValue(for token: String) -> String {
        SHA256Hasher.hash(Array("cashet serve session\u{0}".utf8) + Array(token.utf8)).hex
    }

    /// Whether `Host` names this machine by a loopback name: `localhost`, `127.x.x.x`, `[::1]`.
    static func namesLoopback(_ request: Request) -> Bool {
        guard let host = request.head.authority else { return false }
        let name: Substring
        if host.hasPrefix("[") {
            name = host.prefix { $0 != "]" }.dropFirst()
        } else {
            name = host.prefix { $0 != ":" }
        }
        return ServerSettings.isLoopback(name)
    }

    /// Compares in time that depends on the expected token's length only, not on where the two
    /// first differ.
    static func constantTimeEqual(_ presented: String, _ expected: String) -> Bool {
        let (a, b) = (Array(presented.utf8), Array(expected.utf8))
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for index in b.indices { difference |= b[index] ^ (index < a.count ? a[index] : 0) }
        return difference == 0
    }
}
