import Cashet
import CashetPostgres
import CashetTestSupport
import Foundation
import Testing

/// `cashet serve` as a user runs it: a real process on a real store, asked by curl.
@Suite("cashet serve: the JSON API and the web UI over a real store", .serialized)
struct ServeTests {
    /// One demo store for the read-only cases (making it takes a few seconds).
    static let demo = SharedDemo()

    private static func json(lines text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test("the API answers what the CLI's --json prints: stats, log pages by cursor, a commit with its lineage, history, diff")
    func apiMatchesTheCLI() async throws {
        let (store, made) = try await Self.demo.store()
        let server = try ServedStore(store: store)
        let stats = try server.request("/api/stats")
        #expect(stats.status == 200 && stats.headers["content-type"]?.hasPrefix("application/json") == true)
        let cliStats = try Products.cashet("--store", store, "stats", "--json")
        #expect(NSDictionary(dictionary: stats.object) == NSDictionary(dictionary: try #require(Self.json(lines: cliStats.stdout).first)))

        // Pages of 300 by cursor join to the CLI's whole listing, in its order.
        let cliLog = Self.json(lines: try Products.cashet("--store", store, "log", "--json").stdout)
        var paged: [[String: Any]] = []
        var path = "/api/log?limit=300"
        while true {
            let page = try server.request(path)
            #expect(page.status == 200, "\(page.text)")
            paged += try #require(page.object["commits"] as? [[String: Any]])
            guard let cursor = page.object["next_cursor"] as? String else { break }
            path = "/api/log?limit=300&cursor=" + cursor
        }
        #expect(paged.count == cliLog.count && paged.count > 2_000)
        #expect(paged.map { $0["hash"] as? String } == cliLog.map { $0["hash"] as? String })
        #expect(NSArray(array: paged) == NSArray(array: cliLog))
        // Filters, with a form's `+` for a space.
        let filtered = try server.request("/api/log?function=tokenize&tag=run%3D2&limit=10")
        #expect((filtered.object["commits"] as? [[String: Any]])?.map { $0["hash"] as? String } == [made.tokenizeV2.hex])
        #expect(filtered.object["next_cursor"] is NSNull)

        // A commit by prefix: `show --json`'s object, with lineage.
        let commit = try server.request("/api/commits/" + String(made.counted.hex.prefix(10)))
        #expect(commit.status == 200)
        var object = commit.object
        let lineage = try #require(object.removeValue(forKey: "lineage") as? [String: Any])
        let show = try #require(Self.json(lines: try Products.cashet("--store", store, "show", "--json", made.counted.hex).stdout).first)
        #expect(NSDictionary(dictionary: object) == NSDictionary(dictionary: show))
        let rerunOutput = try #require(Self.json(lines: try Products.cashet("--store", store, "show", "--json", made.rerun.hex).stdout).first?["output"] as? [String: Any])
        #expect(lineage["inputs"] as? [String] == [try #require(rerunOutput["hash"] as? String)])
        let rerun = try server.request("/api/commits/\(made.rerun.hex)").object
        #expect((rerun["lineage"] as? [String: Any])?["parents"] as? [String] == [made.tokenizeV2.hex])
        #expect(rerun["source"] as? String == DemoStore.sourceV2)

        let history = try server.request("/api/commits/\(made.rerun.hex)/history")
        #expect((try JSONSerialization.jsonObject(with: history.body) as? [[String: Any]])?.map { $0["hash"] as? String } == [made.tokenizeV2.hex, made.rerun.hex])

        let diff = try server.request("/api/diff/\(made.tokenizeV1.hex.prefix(8))/\(made.tokenizeV2.hex.prefix(8))")
        let cliDiff = try Products.cashet("--store", store, "diff", "--json", made.tokenizeV1.hex, made.tokenizeV2.hex)
        #expect(NSDictionary(dictionary: diff.object) == NSDictionary(dictionary: try #require(Self.json(lines: cliDiff.stdout).first)))
        #expect((diff.object["source_diff"] as? [String])?.contains { $0.hasPrefix("+") && $0.contains("lowercased") } == true)

        let breakdown = try server.request("/api/breakdown")
        #expect(breakdown.object["tracked"] as? Bool == true)
        let functions = try #require(breakdown.object["functions"] as? [[String: Any]])
        #expect(functions.first?["name"] as? String == "blob" && functions.contains { $0["name"] as? String == "square" && $0["commits"] as? Int == 2_000 })
        #expect(server.stop() == 0)
    }

    @Test("docs/openapi.json lists exactly the /api routes the server registers, and each GET answers with the keys its schema requires")
    func openAPIDocument() async throws {
        let (store, made) = try await Self.demo.store()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("docs/openapi.json"))) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, item in item.keys.filter { ["get", "post", "delete"].contains($0) }.map { "\($0.uppercased()) \(path)" } })
        let source = try String(contentsOf: root.appendingPathComponent("Sources/CashetServer/Routes/APIRoutes.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"router\.(get|post|delete)\("(/api/[^"]*)""#)
        let registered = Set(pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)).map { match -> String in
            let method = String(source[Range(match.range(at: 1), in: source)!]).uppercased()
            let path = String(source[Range(match.range(at: 2), in: source)!]).split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(method) /\(path)"
        })
        #expect(documented == registered)

        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        func required(_ schema: [String: Any]) -> [String] {
            if let reference = schema["$ref"] as? String, let named = schemas[String(reference.split(separator: "/").last!)] { return required(named) }
            return (schema["required"] as? [String] ?? []) + (schema["allOf"] as? [[String: Any]] ?? []).flatMap(required)
        }
        let server = try ServedStore(store: store)
        for (path, item) in paths {
            guard let get = item["get"] as? [String: Any] else { continue }
            let concrete = path.replacingOccurrences(of: "{hash}", with: made.counted.hex).replacingOccurrences(of: "{a}", with: made.tokenizeV1.hex)
                .replacingOccurrences(of: "{b}", with: made.tokenizeV2.hex)
            let reply = try server.request(concrete)
            #expect(reply.status == 200, "\(path): \(reply.status) \(reply.text.prefix(200))")
            let ok = (get["responses"] as? [String: Any])?["200"] as? [String: Any]
            guard let schema = ((ok?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any] else { continue }
            let keys = required(schema)
            if (schema["type"] as? String) == "array" { continue }
            #expect(keys.allSatisfy { reply.object[$0] != nil }, "\(path) lacks \(keys.filter { reply.object[$0] == nil })")
        }
        #expect(server.stop() == 0)
    }

    @Test("results: bytes with an ETag that is their hash, immutable caching, Range (206, suffix, 416), If-None-Match; a 9 MiB result streams; JSON rendering")
    func resultBytes() async throws {
        let (store, made) = try await Self.demo.store()
        let server = try ServedStore(store: store)
        let large = try server.request("/api/results/\(made.large.hex)")
        #expect(large.status == 200 && large.body == Data(made.largeBytes))
        let etag = try #require(large.headers["etag"])
        #expect(etag.count == 66 && large.headers["cache-control"]?.contains("immutable") == true && large.headers["accept-ranges"] == "bytes")
        #expect(try server.request("/api/results/\(made.large.hex)", headers: ["If-None-Match: \(etag)"]).status == 304)
        let middle = try server.request("/api/results/\(made.large.hex)", headers: ["Range: bytes=5000000-5000099"])
        #expect(middle.status == 206 && middle.body == Data(made.largeBytes[5_000_000..<5_000_100]))
        #expect(middle.headers["content-range"] == "bytes 5000000-5000099/\(made.largeBytes.count)")
        let suffix = try server.request("/api/results/\(made.large.hex)", headers: ["Range: bytes=-10"])
        #expect(suffix.status == 206 && suffix.body == Data(made.largeBytes.suffix(10)))
        let beyond = try server.request("/api/results/\(made.large.hex)", headers: ["Range: bytes=99999999-"])
        #expect(beyond.status == 416 && beyond.headers["content-range"] == "bytes */\(made.largeBytes.count)")
        // The largest end a header can name (it once overflowed and stopped the server), and
        // ranges that do not parse (served whole).
        let huge = try server.request("/api/results/\(made.counted.hex)", headers: ["Range: bytes=0-9223372036854775807"])
        #expect(huge.status == 206 && huge.headers["content-range"]?.hasPrefix("bytes 0-") == true)
        for junk in ["bytes=--5", "bytes=5-3", "bytes=a-b", "lines=0-1", "bytes=0-1,4-5"] {
            #expect(try server.request("/api/results/\(made.counted.hex)", headers: ["Range: \(junk)"]).status == 200, "\(junk)")
        }
        #expect(try server.request("/api/results/\(made.large.hex)", headers: ["If-None-Match: W/\(etag)"]).status == 304)
        // Only a full hash names bytes forever; a prefix may name another commit later.
        #expect(try server.request("/api/results/\(made.counted.hex.prefix(10))").headers["cache-control"] == "public, no-cache")
        let head = try server.request("/api/results/\(made.large.hex)", method: "HEAD")
        #expect(head.status == 200 && head.headers["content-length"] == "\(made.largeBytes.count)" && head.headers["etag"] == etag)
        // A small result, by its commit's prefix, and as JSON.
        let small = try server.request("/api/results/\(made.counted.hex.prefix(12))", headers: ["Range: bytes=0-0"])
        #expect(small.status == 206 && small.body.count == 1)
        let rendered = try server.request("/api/results/\(made.counted.hex)/json")
        #expect(rendered.status == 200 && rendered.text == "3")
        let failed = try server.request("/api/results/\(made.failed.hex)")
        #expect(failed.status == 404 && failed.error["exit_status"] as? Int == 1)
        #expect(server.stop() == 0)
    }

    @Test("bad, unknown and ambiguous prefixes, and path traversal in every path parameter, are JSON errors with the CLI's exit statuses")
    func badInput() async throws {
        let (store, _) = try await Self.demo.store()
        let server = try ServedStore(store: store)
        let hashes = Self.json(lines: try Products.cashet("--store", store, "log", "--json").stdout).compactMap { $0["hash"] as? String }
        let prefixes = Dictionary(grouping: hashes, by: { String($0.prefix(4)) })
        let ambiguous = try #require(prefixes.first { $0.value.count > 1 }?.key)
        let cases: [(path: String, status: Int, exit: Int)] = [
            ("/api/commits/zzzz", 400, 2), ("/api/commits/abc", 400, 2), ("/api/commits/" + String(repeating: "a", count: 65), 400, 2),
            ("/api/commits/\(ambiguous)", 409, 1), ("/api/log?limit=0", 400, 2), ("/api/log?cursor=nope", 400, 2), ("/api/log?tag=novalue", 400, 2),
            ("/api/log?since=yesterday", 400, 2), ("/api/diff/\(ambiguous)/zz", 400, 2),
        ]
        for (path, status, exit) in cases {
            let reply = try server.request(path)
            #expect(reply.status == status && reply.error["exit_status"] as? Int == exit, "\(path): \(reply.status) \(reply.text)")
        }
        let unknown = try server.request("/api/commits/" + String(repeating: "0", count: 64))
        #expect(unknown.status == 404 && unknown.error["code"] as? String == "not_found")
        // A prefix names commits only: finding a result by prefix would read every commit.
        let output = try #require(try server.request("/api/commits/\(hashes[0])").object["output"] as? [String: Any])
        let resultPrefix = try server.request("/api/commits/" + String(try #require(output["hash"] as? String).prefix(12)))
        #expect(resultPrefix.status == 404 && (resultPrefix.error["message"] as? String)?.contains("full 64-character hash") == true)
        // Without a token only loopback names are served (DNS rebinding).
        let rebound = try server.request("/api/stats", headers: ["Host: attacker.example"])
        #expect(rebound.status == 421 && rebound.error["code"] as? String == "wrong_host")
        #expect(try server.request("/api/stats", headers: ["Host: localhost:8080"]).status == 200)
        let traversals = [
            "/api/commits/..%2F..%2F..%2Fetc%2Fpasswd", "/api/commits/../../../etc/passwd", "/api/commits/%2e%2e", "/api/results/..%2Fdata.mdb",
            "/api/results/../data.mdb", "/api/commits/abcd/..%2F..%2Fhistory", "/api/diff/..%2F/abcd", "/api/diff/abcd/..%2f..%2fdata.mdb",
            "/commits/..%2F..%2Fdata.mdb", "/results/%2e%2e%2f%2e%2e", "/diff/../../data.mdb", "/static/../data.mdb", "/static/..%2Fdata.mdb",
            "/api/results/abcd%00", "/commits/abcd%2F..%2F..",
        ]
        for path in traversals {
            let reply = try server.request(path)
            #expect([400, 404].contains(reply.status), "\(path): \(reply.status)")
            #expect(!reply.text.contains("root:") && !reply.body.starts(with: Data("\u{0}\u{0}".utf8)) && reply.body.count < 20_000, "\(path)")
        }
        // Mutations are refused without --allow-mutations, even on loopback.
        let gc = try server.request("/api/gc", method: "POST")
        #expect(gc.status == 403 && gc.error["code"] as? String == "mutations_disabled")
        #expect(try server.request("/api/commits/\(hashes[0])", method: "DELETE").status == 403)
        #expect(try Products.cashet("--store", store, "log", "-n", "1", "--json").stdout.contains(hashes[0]))
        #expect(server.stop() == 0)
    }

    @Test("hostile-input campaign (seeded): random traversal paths under every path parameter are 400 or 404 and never a 5xx; random markup in names, tags, arguments and errors never reaches a page unescaped")
    func hostileInputCampaign() async throws {
        let seed = UInt64.random(in: 1...UInt64(UInt32.max))
        print("serve hostile-input campaign, seed \(seed)")
        var random = SeededGenerator(seed: seed)
        // Every stored string carries the marker `Zq<`: a page holding it raw printed markup unescaped.
        let fragments = ["Zq<script>alert(1)</script>", "Zq<img src=x onerror=alert(1)>", "\"'><svg onload=alert(1)>Zq<", "Zq</title><script>",
                         "javascript:Zq<", "Zq<a href='//evil'>", "&amp;Zq<&lt;", "Zq<\u{202E}gnp.exe", "Zq<\u{1B}[2J\u{7}", "Zq<!--", "Zq<style>*{}</style>"]
        func hostile() -> String { (0..<Int.random(in: 1...3, using: &random)).map { _ in fragments.randomElement(using: &random)! }.joined() }
        let directory = TemporaryDirectory()
        let path = directory.child("store")
        let client = Client(store: try LMDBStore(path))
        var commits: [ContentHash] = []
        for index in 0..<12 {
            let name = hostile()
            let function = CachedFunction<String, String>(identity: DemoStore.identity(name, "func f() { \"\(hostile())\" }")) { text in
                if index % 4 == 3 { throw HostileFailure(message: text) }
                return text
            }
            if let ref = try? await client.submit(function, hostile(), tags: [hostile(): hostile()]) {
                commits.append(ref.commit)
            } else {
                commits.append(try await client.log(CommitQuery(functionName: name))[0].hash)   // the failure it recorded
            }
        }
        await client.close()

        let server = try ServedStore(store: path)
        var pages = ["/", "/stats", "/diff/\(commits[0].hex)/\(commits[1].hex)"] + commits.map { "/commits/\($0.hex)" }
        pages += commits.map { "/commits/\($0.hex)/history" }
        for page in pages {
            let reply = try server.request(page)
            #expect(reply.status == 200, "seed \(seed): \(page) \(reply.status)")
            #expect(!reply.text.contains("Zq<") && !reply.text.contains("<script") && !reply.text.contains("<img") && !reply.text.contains("<svg onload"),
                    "seed \(seed): \(page) shows stored markup unescaped")
        }
        let pieces = ["..", "%2e%2e", "%2F", "%2f", "%5C", "%00", "%c0%ae", "~", "data.mdb", "etc", "passwd", "lock.mdb", "objects", "%20", "?", "#", ";", "é"]
        let prefixes = ["/api/commits/", "/api/results/", "/api/diff/abcd/", "/api/commits/abcd/", "/commits/", "/results/", "/diff/abcd/", "/static/"]
        for _ in 0..<120 {
            let parameter = (0..<Int.random(in: 1...5, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined(separator: ["/", "", "%2F"].randomElement(using: &random)!)
            let target = prefixes.randomElement(using: &random)! + parameter
            let reply = try server.request(target)
            #expect([400, 404].contains(reply.status), "seed \(seed): \(target) answered \(reply.status)")
            #expect(!reply.text.contains("root:") && reply.body.count < 20_000, "seed \(seed): \(target)")
        }
        #expect(try server.request("/api/stats").status == 200)
        #expect(server.stop() == 0)
    }

    struct HostileFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    @Test("pages: the list with filters and a cursor, a commit with its lineage graph, history, diff, stats with SVG charts; stored markup stays text under a no-script CSP")
    func pages() async throws {
        let (store, made) = try await Self.demo.store()
        let server = try ServedStore(store: store)
        let list = try server.request("/?function=tokenize")
        #expect(list.status == 200 && list.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(list.text.contains(made.tokenizeV1.shortHex) && !list.text.contains("square("))
        #expect(list.text.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") && !list.text.contains("<script"))
        let csp = try #require(list.headers["content-security-policy"])
        #expect(csp.contains("default-src 'none'") && !csp.contains("script-src") && list.headers["x-content-type-options"] == "nosniff")
        let first = try server.request("/")
        let next = try #require(first.text.range(of: "href=\"/?cursor=").map { first.text[$0.upperBound...].prefix { $0 != "\"" } })
        let second = try server.request("/?cursor=" + next)
        #expect(second.status == 200 && second.text.contains("<table class=\"commits\"") && second.text != first.text)

        let page = try server.request("/commits/\(made.counted.hex.prefix(8))")
        #expect(page.status == 200 && page.text.contains("<svg") && page.text.contains("node current") && page.text.contains("node input"))
        #expect(page.text.contains("/results/") && page.text.contains("func count(_ words: [String]) -&gt; Int"))
        let rerun = try server.request("/commits/\(made.rerun.hex)")
        #expect(rerun.text.contains("/commits/\(made.tokenizeV2.hex)") && rerun.text.contains("diff with parent"))
        #expect(try server.request("/commits/\(made.rerun.hex)/history").text.contains(made.tokenizeV2.shortHex))
        let search = try server.request("/?q=\(made.rerun.hex.prefix(9))")
        #expect(search.status == 303 && search.headers["location"] == "/commits/\(made.rerun.hex)")

        let diff = try server.request("/diff?a=\(made.tokenizeV1.hex.prefix(8))&b=\(made.tokenizeV2.hex.prefix(8))")
        #expect(diff.status == 200 && diff.text.contains("<span class=\"add\">+    text.lowercased()"))
        #expect(try server.request("/diff?a=zz&b=\(made.tokenizeV2.hex)").status == 400)

        let stats = try server.request("/stats")
        #expect(stats.status == 200 && stats.text.components(separatedBy: "<svg").count == 5 && stats.text.contains("square"))
        #expect(try server.request("/static/style.css").headers["content-type"]?.hasPrefix("text/css") == true)
        let missing = try server.request("/no/such/page")
        #expect(missing.status == 404 && missing.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(server.stop() == 0)
    }

    @Test("a real browser (headless Chromium) loads the list, a commit, a diff and the stats page; a tag holding <script> is shown as text and runs nothing")
    func inABrowser() async throws {
        let (store, made) = try await Self.demo.store()
        let server = try ServedStore(store: store)
        let profile = TemporaryDirectory()
        /// The DOM after the page loaded (and after any script it ran), and a screenshot.
        func load(_ path: String, screenshot: String) throws -> String {
            let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                         "--user-data-dir=\(profile.child("profile"))", "--window-size=1280,1000"]
            let dom = try Products.run(Self.chromium, flags + ["--dump-dom", server.base + path])
            #expect(dom.status == 0, "\(path): \(dom.stderr.suffix(500))")
            let shot = try Products.run(Self.chromium, flags + ["--screenshot=\(profile.child(screenshot))", server.base + path], in: profile.path)
            let png = try Data(contentsOf: URL(fileURLWithPath: profile.child(screenshot)))
            #expect(shot.status == 0 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "\(path): \(png.count) bytes")
            // scripts/screenshots.sh keeps them for the README.
            if let keep = ProcessInfo.processInfo.environment["CASHET_SCREENSHOTS"] { try png.write(to: URL(fileURLWithPath: keep + "/" + screenshot)) }
            return dom.stdout
        }
        let list = try load("/?function=tokenize", screenshot: "list.png")
        // Had the tag's script run, it would have renamed the page.
        #expect(list.contains("<title>Commits · cashet</title>") && !list.contains("pwned</title>"))
        #expect(list.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;") && !list.contains("<script"))
        #expect(list.contains(made.tokenizeV1.shortHex) && list.contains(made.rerun.shortHex))
        let commit = try load("/commits/\(made.counted.hex)", screenshot: "commit.png")
        #expect(commit.contains("<h2>Lineage</h2>") && commit.contains("node input") && commit.contains(">input 1<"))
        let diff = try load("/diff/\(made.tokenizeV1.hex)/\(made.tokenizeV2.hex)", screenshot: "diff.png")
        #expect(diff.contains("<span class=\"add\">+    text.lowercased()") && diff.contains("<span class=\"del\">"))
        let stats = try load("/stats", screenshot: "stats.png")
        #expect(stats.contains("Result bytes by function") && stats.components(separatedBy: "<svg").count == 5 && stats.contains(">square<"))
        #expect(server.stop() == 0)
    }

    static let chromium = "/usr/bin/chromium"

    @Test("beyond loopback a token is required (401 without or with a wrong one); the login cookie opens pages; mutations need the flag and the header")
    func tokens() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let lmdb = try LMDBStore(store)
        let made = try await DemoStore.make(lmdb, small: 20)
        await lmdb.close()

        let refused = try Products.cashet("--store", store, "serve", "--host", "0.0.0.0", "--port", "0")
        #expect(refused.status == 2 && refused.stderr.contains("needs a token"), "\(refused.stderr)")
        let tokenFile = directory.child("token")
        let token = "s3cret-token-for-tests-0123456789"
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))
        let short = try Products.run(Products.cli, ["--store", store, "serve", "--host", "0.0.0.0", "--port", "0"], environment: ["CASHET_TOKEN": "short"])
        #expect(short.status == 2 && short.stderr.contains("at least 16 characters"))
        let odd = try Products.run(Products.cli, ["--store", store, "serve", "--port", "0"], environment: ["CASHET_TOKEN": "0123456789abcdef;path=/"])
        #expect(odd.status == 2 && odd.stderr.contains("letters, digits"))
        let open = try Products.cashet("--store", store, "serve", "--port", "0", "--allow-mutations")
        #expect(open.status == 2 && open.stderr.contains("--allow-mutations needs a token"), "\(open.stderr)")

        let server = try ServedStore(store: store, ["--host", "0.0.0.0", "--token-file", tokenFile, "--allow-mutations"])
        for path in ["/api/stats", "/", "/commits/\(made.rerun.hex)", "/api/results/\(made.rerun.hex)"] {
            let none = try server.request(path)
            #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer", "\(path)")
            #expect(try server.request(path, headers: ["Authorization: Bearer wrong-token-wrong-token-00"]).status == 401)
            #expect(try server.request(path, headers: ["Authorization: Bearer \(token)"]).status == 200, "\(path)")
        }
        #expect(try server.request("/api/stats").error["code"] as? String == "unauthorized")
        #expect(try server.request("/").text.contains("action=\"/login\""))
        #expect(try server.request("/login", method: "POST", body: "token=wrong").status == 401)
        let login = try server.request("/login", method: "POST", headers: ["Content-Type: application/x-www-form-urlencoded"], body: "token=\(token)")
        #expect(login.status == 303)
        let cookie = try #require(login.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        #expect(login.headers["set-cookie"]?.contains("HttpOnly") == true && login.headers["set-cookie"]?.contains("SameSite=Strict") == true)
        // The browser keeps a hash of the token, not the token: the cookie is no bearer credential.
        #expect(!cookie.contains(token))
        #expect(try server.request("/api/stats", headers: ["Authorization: Bearer \(cookie.split(separator: "=")[1])"]).status == 401)
        // Behind a token, shared caches keep nothing.
        #expect(try server.request("/api/results/\(made.rerun.hex)", headers: ["Authorization: Bearer \(token)"]).headers["cache-control"]?.hasPrefix("private") == true)
        #expect(try server.request("/stats", headers: ["Cookie: \(cookie)"]).status == 200)
        // A cookie is not enough for a mutation (a form on another site would send it).
        #expect(try server.request("/api/gc?dry_run=1", method: "POST", headers: ["Cookie: \(cookie)"]).status == 401)
        let dryRun = try server.request("/api/gc?older_than=0s&dry_run=1", method: "POST", headers: ["Authorization: Bearer \(token)"])
        #expect(dryRun.status == 200 && dryRun.object["dry_run"] as? Bool == true && (dryRun.object["commits_removed"] as? Int ?? 0) > 20)
        let removed = try server.request("/api/commits/\(made.rerun.hex)", method: "DELETE", headers: ["Authorization: Bearer \(token)"])
        #expect(removed.status == 200 && removed.object["commits"] as? [String] == [made.rerun.hex] && removed.object["commits_removed"] as? Int == 1)
        #expect(try server.request("/api/commits/\(made.rerun.hex)", headers: ["Authorization: Bearer \(token)"]).status == 404)
        #expect(!server.log.contains(token))
        #expect(server.stop() == 0)
    }

    @Test("serves a PostgreSQL store through the same Store protocol")
    func postgres() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let url = try await cluster.makeDatabase()
        let store = try await PostgresStore(url: url)
        let made = try await DemoStore.make(store, small: 10)
        await store.close()
        let server = try ServedStore(store: url)
        let log = try server.request("/api/log?function=tokenize")
        #expect((log.object["commits"] as? [[String: Any]])?.count == 3)
        #expect(try server.request("/commits/\(made.counted.hex)").text.contains("node input"))
        let stats = try server.request("/stats")
        #expect(stats.status == 200 && stats.text.contains("<svg"))
        #expect(try server.request("/api/results/\(made.large.hex)", headers: ["Range: bytes=0-3"]).body == Data(made.largeBytes.prefix(4)))
        #expect(server.stop() == 0)
    }
}

/// The demo store the read-only cases share, made by the first that asks.
actor SharedDemo {
    private let directory = TemporaryDirectory()
    private var made: DemoStore.Made?

    func store() async throws -> (path: String, made: DemoStore.Made) {
        let path = directory.child("store")
        if let made { return (path, made) }
        let store = try LMDBStore(path)
        let made = try await DemoStore.make(store)
        await store.close()
        self.made = made
        return (path, made)
    }
}
