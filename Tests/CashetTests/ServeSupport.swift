import Cashet
import CashetTestSupport
import Crypto
import Foundation

/// A real `cashet serve` process on a store, and curl as its client.
final class ServedStore {
    let process: Process
    /// `http://127.0.0.1:PORT`.
    let base: String
    private let output: String
    private let scratch = TemporaryDirectory()

    /// Starts `cashet --store STORE serve --port 0 ARGUMENTS` and waits for its "listening" line.
    init(store: String, _ arguments: [String] = [], environment: [String: String] = [:]) throws {
        output = scratch.child("serve.log")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Products.cli)
        process.arguments = ["--store", store, "serve", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let file = try require2(FileHandle(forWritingAtPath: output))
        (process.standardOutput, process.standardError) = (file, file)
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        var found: String?
        while found == nil && Date() < deadline && process.isRunning {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on ") {
                found = text[range.upperBound...].split(separator: "\n").first.map(String.init)
            } else {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        guard let address = found else {
            process.terminate()
            throw ServeFailure(description: "cashet serve did not start: " + ((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""))
        }
        base = address.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
    }

    /// Everything the server wrote (its log, on stderr, and the listening line).
    var log: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    /// SIGTERM, then its exit status.
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    /// One request through curl (`--path-as-is`: paths reach the server as written, `..` included).
    func request(_ path: String, method: String = "GET", headers: [String] = [], body: String? = nil) throws -> HTTPReply {
        let (headerFile, bodyFile) = (scratch.child("headers-\(UUID().uuidString)"), scratch.child("body-\(UUID().uuidString)"))
        var arguments = ["-sS", "--path-as-is", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code}", "--max-time", "60"]
        arguments += method == "HEAD" ? ["--head"] : ["-X", method]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["--data-binary", body] }
        arguments.append(base + path)
        let result = try Products.run("/usr/bin/curl", arguments)
        guard result.status == 0, let status = Int(result.stdout) else {
            throw ServeFailure(description: "curl \(path) failed (\(result.status)): \(result.stderr)")
        }
        var fields: [String: String] = [:]
        for line in ((try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? "").split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data()
        return HTTPReply(status: status, headers: fields, body: bytes)
    }
}

struct ServeFailure: Error, CustomStringConvertible {
    let description: String
}

/// `#require` for places outside a test function.
func require2<T>(_ value: T?) throws -> T {
    guard let value else { throw ServeFailure(description: "a required value was nil") }
    return value
}

/// An HTTP response as curl saw it.
struct HTTPReply {
    let status: Int
    /// Header names in lowercase.
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }

    /// `{"error": {"code", "message", "exit_status"}}`'s inner object.
    var error: [String: Any] { object["error"] as? [String: Any] ?? [:] }
}

/// A store with what every page shows: re-runs with parents, a chain of results passed as
/// `ResultRef`s, a failure, a tag holding markup, a 9 MiB result, 2,000 small commits (so
/// some 4-character prefix is shared: an ambiguous prefix to ask for), and nightly commits over
/// the past `history` days.
enum DemoStore {
    static let sourceV1 = "func tokenize(_ text: String) -> [String] {\n    text.split(separator: \" \").map(String.init)\n}"
    static let sourceV2 = "func tokenize(_ text: String) -> [String] {\n    text.lowercased().split(separator: \" \").map(String.init)\n}"
    static let hostileTag = "<script>document.title='pwned'</script>"

    static func identity(_ name: String, _ source: String) -> FunctionIdentity {
        FunctionIdentity(name: name, hash: try! ContentHash(bytes: Array(SHA256.hash(data: Data(source.utf8)))), source: source)
    }

    struct Made {
        let tokenizeV1: ContentHash
        let tokenizeV2: ContentHash
        /// A re-run of `tokenizeV2` (its parent).
        let rerun: ContentHash
        let counted: ContentHash
        let large: ContentHash
        /// The 9 MiB result as stored (serialized).
        let largeBytes: [UInt8]
        let failed: ContentHash
    }

    static func make(_ store: any Store, small: Int = 2_000, history: Int = 45) async throws -> Made {
        let client = Client(store: store)
        let v1 = CachedFunction<String, [String]>(identity: identity("tokenize", sourceV1)) { $0.split(separator: " ").map(String.init) }
        let v2 = CachedFunction<String, [String]>(identity: identity("tokenize", sourceV2)) { $0.lowercased().split(separator: " ").map(String.init) }
        let count = CachedFunction<[String], Int>(identity: identity("count", "func count(_ words: [String]) -> Int { words.count }")) { $0.count }
        let first = try await client.submit(v1, "Hello big World", tags: ["run": "1", "note": hostileTag])
        let second = try await client.submit(v2, "Hello big World", tags: ["run": "2"])
        let rerun = try await client.submit(v2, "Hello big World", cache: false, tags: ["run": "3"])
        let counted = try await client.submit(count, rerun, tags: ["run": "3"])
        let large = TestPayload.incompressible(9 << 20, seed: 7)
        let blob = CachedFunction<Int, [UInt8]>(identity: identity("blob", "func blob(_ n: Int) -> [UInt8]")) { _ in large }
        let big = try await client.submit(blob, 1)
        let stored = try await client.get(big.commit.hex)   // the serialized bytes, as served
        let failing = CachedFunction<Int, Int>(identity: identity("fails", "func fails(_ n: Int) throws -> Int")) { _ in throw DemoError.failed }
        _ = try? await client.submit(failing, 1)
        let failed = try await client.log(CommitQuery(functionName: "fails"))[0].hash
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        _ = try await client.map(square, over: Array(0..<small))
        // Nightly runs over the past weeks, so the growth charts have days to draw.
        let nightly = CachedFunction("nightly_report", version: "1") { (day: Int) in day }
        var entries: [CommitEntry] = []
        for day in 0..<history {
            for part in 0..<(8 + day % 5) {
                let task = TaskDefinition(functionName: "nightly_report", functionHash: nightly.identity.hash, functionVersion: "1", argumentsSnapshot: "(\(day * 100 + part))")
                let draft = CommitDraft(fingerprint: try nightly.fingerprint(day * 100 + part), task: task, status: .completed,
                                        createdAt: Date().addingTimeInterval(-Double(history - day) * 86_400), tags: ["kind": "nightly"])
                entries.append(CommitEntry(draft, output: TestPayload.compressible(2_000 + 300 * day, seed: UInt64(day * 100 + part))))
            }
        }
        _ = try await store.recordBatch(entries)
        return Made(tokenizeV1: first.commit, tokenizeV2: second.commit, rerun: rerun.commit, counted: counted.commit, large: big.commit, largeBytes: stored, failed: failed)
    }

    enum DemoError: Error { case failed }
}
