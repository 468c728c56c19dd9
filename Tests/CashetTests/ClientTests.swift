import Cashet
import CashetTestSupport
import Foundation
import Testing

/// A client over a fresh store in its own temp directory.
struct Fixture {
    let directory = TemporaryDirectory()
    let client: Client
    var storePath: String { directory.child("store") }

    init() throws {
        var configuration = LMDBStore.Configuration()
        configuration.initialMapSize = 8 << 20
        client = Client(store: try LMDBStore(directory.child("store"), configuration: configuration))
    }
}

@Suite("Client: hits, misses, lineage")
struct ClientTests {
    @Test("a bound function is called like the function: one run, then hits; ResultRefs of earlier steps work as arguments")
    func boundFunction() async throws {
        let directory = TemporaryDirectory()
        let client = try Client(path: directory.child("store"))
        let runs = ExecutionCounter()
        let transform = client.bind(CachedFunction("transform", version: "1") { (data: [Double], scale: Double) in
            runs.tick()
            return data.map { $0 * scale }
        })
        #expect(try await transform([1, 2, 3], 2.0) == [2, 4, 6])
        #expect(try await transform([1, 2, 3], 2.0) == [2, 4, 6])
        #expect(runs.value == 1)
        let earlier = try await client.submit(transform.function, [1.0], 3.0)
        #expect(try await transform(earlier, 1.0) == [3.0])
        await client.close()
    }

    @Test("the second call with the same arguments is a hit and does not execute")
    func secondCallHits() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let scale = CachedFunction("scale", version: "1") { (data: [Double], factor: Double) -> [Double] in
            runs.tick()
            return data.map { $0 * factor }
        }
        let first = try await fixture.client.submit(scale, [1, 2, 3], 2.0)
        let second = try await fixture.client.submit(scale, [1, 2, 3], 2.0)
        #expect(try await first.load() == [2, 4, 6])
        #expect(try await second.load() == [2, 4, 6])
        #expect(runs.value == 1)
        #expect(!first.wasCached && second.wasCached)
        #expect(first.hash == second.hash && first.commit == second.commit)
    }

    @Test("changed arguments, a changed version or another function miss")
    func changesMiss() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        func add(_ version: String) -> CachedFunction<Int, Int, Int> {
            CachedFunction("add", version: version) { (a: Int, b: Int) in runs.tick(); return a + b }
        }
        _ = try await fixture.client.submit(add("1"), 1, 2)
        _ = try await fixture.client.submit(add("1"), 2, 1)
        _ = try await fixture.client.submit(add("2"), 1, 2)
        _ = try await fixture.client.submit(add("1"), 1, 2)
        #expect(runs.value == 3)
        #expect(try await fixture.client.stats().functions == 2)
    }

    @Test("cache: false always executes and chains each run to the previous one")
    func cacheDisabled() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let now = CachedFunction("now", version: "1") { (label: String) -> Int in runs.tick(); return runs.value }
        let a = try await fixture.client.submit(now, "x", cache: false)
        let b = try await fixture.client.submit(now, "x", cache: false)
        let c = try await fixture.client.submit(now, "x", cache: false)
        #expect(runs.value == 3)
        #expect(try await c.load() == 3)
        let history = try await fixture.client.history(c.commit.hex)
        #expect(history.map(\.hash) == [a.commit, b.commit, c.commit])
        #expect(history.map(\.parent) == [nil, a.commit, b.commit])
        #expect(history.allSatisfy { !$0.task.cacheable })
        // A cached call afterwards is served by the newest run.
        let d = try await fixture.client.submit(now, "x")
        #expect(d.wasCached && d.commit == c.commit && runs.value == 3)
    }

    @Test("tags are recorded, filter log (all must match), and are not part of the key")
    func tagsFilterLog() async throws {
        let fixture = try Fixture()
        let runs = ExecutionCounter()
        let double = CachedFunction("double", version: "1", tags: ["team": "ml"]) { (x: Int) in runs.tick(); return 2 * x }
        let triple = CachedFunction("triple", version: "1") { (x: Int) in 3 * x }
        _ = try await fixture.client.submit(double, 1, tags: ["env": "prod"])
        _ = try await fixture.client.submit(double, 2, tags: ["env": "dev"])
        let hit = try await fixture.client.submit(double, 1, tags: ["env": "other"])
        _ = try await fixture.client.submit(triple, 1, tags: ["env": "prod"])
        #expect(hit.wasCached && runs.value == 2)

        let prod = try await fixture.client.log(CommitQuery(tags: ["env": "prod"]))
        #expect(prod.map(\.task.functionName) == ["triple", "double"])
        let prodML = try await fixture.client.log(CommitQuery(tags: ["env": "prod", "team": "ml"]))
        #expect(prodML.map(\.task.functionName) == ["double"])
        #expect(try await fixture.client.log(CommitQuery(functionName: "double")).count == 2)
        #expect(try await fixture.client.log(CommitQuery(functionName: "double", tags: ["env": "dev"])).count == 1)
        #expect(try await fixture.client.log(CommitQuery(limit: 3)).count == 3)
        #expect(try await fixture.client.log(CommitQuery(functionName: "nothing")).isEmpty)
        #expect(try await fixture.client.log(CommitQuery(since: Date().addingTimeInterval(3600))).isEmpty)
    }

    @Test("log lists newest first")
    func logOrder() async throws {
        let fixture = try Fixture()
        let id = CachedFunction("id", version: "1") { (x: Int) in x }
        var expected: [ContentHash] = []
        for i in 0..<20 { expected.append(try await fixture.client.submit(id, i).commit) }
        #expect(try await fixture.client.log().map(\.hash) == expected.reversed())
        #expect(try await fixture.client.log(CommitQuery(functionName: "id", limit: 5)).map(\.hash) == Array(expected.reversed().prefix(5)))
    }

    @Test("diff reports which of function, arguments, output and status changed")
    func diff() async throws {
        let fixture = try Fixture()
        let parity = CachedFunction("parity", version: "1") { (x: Int) in x % 2 }
        let parity2 = CachedFunction("parity", version: "2") { (x: Int) in x % 2 }
        let a = try await fixture.client.submit(parity, 1)
        let b = try await fixture.client.submit(parity, 3)
        let c = try await fixture.client.submit(parity, 2)
        let d = try await fixture.client.submit(parity2, 1)
        let ab = try await fixture.client.diff(a.commit.hex, b.commit.hex)
        #expect(ab.argumentsChanged && !ab.outputChanged && !ab.functionChanged && !ab.statusChanged)
        let ac = try await fixture.client.diff(a.commit.hex, c.commit.hex)
        #expect(ac.argumentsChanged && ac.outputChanged)
        let ad = try await fixture.client.diff(String(a.commit.hex.prefix(10)), String(d.commit.hex.prefix(10)))
        #expect(ad.functionChanged && !ad.argumentsChanged && !ad.outputChanged)
        #expect(try await fixture.client.diff(a.commit.hex, a.commit.hex).isEmpty)
    }

    @Test("a throwing function records a failed commit, throws executionFailed, and does not poison the cache")
    func failures() async throws {
        struct Flaky: Error, CustomStringConvertible { var description: String { "flaky failure" } }
        let fixture = try Fixture()
        let attempts = ExecutionCounter()
        let flaky = CachedFunction("flaky", version: "1") { (x: Int) -> Int in
            attempts.tick()
            if attempts.value == 1 { throw Flaky() }
            return x
        }
        let error = await #expect(throws: CashetError.self) { try await fixture.client.submit(flaky, 5) }
        #expect(error?.code == .executionFailed)
        #expect(error?.underlying is Flaky)
        let ok = try await fixture.client.submit(flaky, 5)
        let value = try await ok.load()
        #expect(!ok.wasCached && attempts.value == 2 && value == 5)
        let history = try await fixture.client.history(ok.commit.hex)
        #expect(history.map(\.status) == [.failed, .completed])
        #expect(history[0].error == "flaky failure")
        #expect(history[1].parent == history[0].hash)
        let stats = try await fixture.client.stats()
        #expect(stats.commits == 2 && stats.failed == 1 && stats.completed == 1)
    }

    @Test("show returns the full commit by unique prefix; get returns the output bytes")
    func showAndGet() async throws {
        let fixture = try Fixture()
        let greet = CachedFunction("greet", version: "7", tags: ["k": "v"]) { (name: String, times: Int) in String(repeating: "hi \(name) ", count: times) }
        let ref = try await fixture.client.submit(greet, "ada", 2)
        let commit = try await fixture.client.show(String(ref.commit.hex.prefix(8)))
        #expect(commit.hash == ref.commit)
        #expect(commit.task.functionName == "greet" && commit.task.functionVersion == "7")
        #expect(commit.task.argumentsSnapshot == #"("ada", 2)"#)
        #expect(commit.tags == ["k": "v"] && commit.status == .completed && commit.parent == nil)
        #expect(commit.output == ObjectRef(hash: ref.hash, size: ref.size))
        let bytes = try await ref.loadBytes()
        #expect(try await fixture.client.get(ref.commit.hex) == bytes)
    }

    @Test("cashet show prints the function's name, version and original source")
    func cliShowsSource() async throws {
        let fixture = try Fixture()
        let source = "@Cached(version: \"3\")\nfunc area(_ side: Int) -> Int {\n    side * side // squared\n}"
        let identity = FunctionIdentity(name: "area", sourceHash: "abc", helpersHash: "def", version: "3", source: source)
        let ref = try await fixture.client.submit(CachedFunction(identity: identity) { (side: Int) in side * side }, 4)
        let shown = try Products.cashet("--store", fixture.storePath, "show", String(ref.commit.hex.prefix(10)))
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("function    area (version 3)"))
        #expect(shown.stdout.contains("identity    \(identity.hash.hex)"))
        #expect(shown.stdout.contains("source\n" + source + "\n"))
        let json = try Products.cashet("--store", fixture.storePath, "show", ref.commit.hex, "--json")
        #expect(json.stdout.contains("\"source\":\"@Cached(version: \\\"3\\\")\\nfunc area"))
    }
}
