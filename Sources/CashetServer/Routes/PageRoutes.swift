import Cashet
import Foundation
import HTTPTypes
import Hummingbird

/// The web UI: server-rendered pages, no script.
struct PageRoutes {
    let client: Client
    let settings: ServerSettings

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in try await commitList(FormQuery(request.uri.query)) }
        router.get("/commits/:hash") { _, context in
            let (commits, isResult) = try await Lookup(client: client).commits(named: try APIRoutes.hashParameter(context, "hash"))
            let commit = commits[0]
            let producers = isResult ? commits.map(\.hash) : nil
            var preview: String?
            if let output = commit.output, output.size <= Self.previewLimit { preview = HTML.preview(try await client.bytes(of: output)) }
            return Reply.html(Pages.commit(commit, lineage: try await client.lineage(of: commit), preview: preview, producers: producers))
        }
        router.get("/commits/:hash/history") { _, context in
            let hash = try APIRoutes.hashParameter(context, "hash")
            return Reply.html(Pages.history(try await client.history(hash), of: hash))
        }
        router.get("/results/:hash") { _, context in
            let hash = try APIRoutes.hashParameter(context, "hash")
            guard hash.utf8.count == 64 else {
                throw APIError(CashetError(.invalidHash, "'\(hash)' is not a full result hash: results are named by all 64 hex characters"))
            }
            return Reply.html(Pages.producers(try await client.commits(producing: hash), result: hash))
        }
        router.get("/diff") { request, _ in
            let form = FormQuery(request.uri.query)
            guard let a = form["a"], let b = form["b"] else { return Reply.html(Pages.diffForm(a: form["a"] ?? "", b: form["b"] ?? "")) }
            do throws(CashetError) {
                return Reply.html(Pages.diff(try await client.diff(a, b)))
            } catch {
                return Reply.html(Pages.diffForm(a: a, b: b, message: error.message), status: APIError(error).status)
            }
        }
        router.get("/diff/:a/:b") { _, context in
            Reply.html(Pages.diff(try await client.diff(try APIRoutes.hashParameter(context, "a"), try APIRoutes.hashParameter(context, "b"))))
        }
        router.get("/stats") { _, _ in
            Reply.html(Pages.stats(try await client.stats(), try await client.breakdown(days: 365)))
        }
        router.get("/static/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: Stylesheet.css)))
        }
        router.get("/login") { _, _ in
            Reply.html(Pages.error(APIError(.unauthorized, "unauthorized", settings.token == nil ? "This server needs no token." : "Sign in with the server's token."), loginForm: settings.token != nil))
        }
        router.post("/login") { request, context in
            guard let token = settings.token else { return Reply.seeOther("/") }
            let body = try await request.body.collect(upTo: 4096)
            let form = FormQuery(String(buffer: body))
            guard let presented = form["token"], GuardMiddleware<BasicRequestContext>.constantTimeEqual(presented, token) else { throw APIError.unauthorized }
            var response = Reply.seeOther("/")
            response.headers[.setCookie] = "\(GuardMiddleware<BasicRequestContext>.cookieName)=\(GuardMiddleware<BasicRequestContext>.cookieValue(for: token)); Path=/; HttpOnly; SameSite=Strict"
            return response
        }
    }

    /// Results up to this size get a preview on their commit page.
    static let previewLimit = 65_536

    /// The commit list; `q` (the search box) jumps to the commit or result it names.
    private func commitList(_ form: FormQuery) async throws -> Response {
        if let search = form["q"]?.trimmingCharacters(in: .whitespaces) {
            do throws(CashetError) {
                let (commits, isResult) = try await Lookup(client: client).commits(named: try Lookup.hash(search))
                return Reply.seeOther(isResult ? "/results/\(commits[0].output?.hash.hex ?? commits[0].hash.hex)" : "/commits/\(commits[0].hash.hex)")
            } catch {
                return Reply.html(try await listPage(FormQuery(nil), message: error.message), status: APIError(error).status)
            }
        }
        return Reply.html(try await listPage(form))
    }

    private func listPage(_ form: FormQuery, message: String? = nil) async throws -> String {
        let query = try form.commitQuery()
        let commits = try await client.log(query)
        return Pages.commitList(commits, form: form, nextCursor: query.nextCursor(after: commits), message: message)
    }
}
