import Cashet
import CashetPostgres
import CashetTestSupport
import Foundation
import Synchronization
import Testing

/// The stores a conformance case runs against: each must behave alike through `Store`.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case lmdb
    /// The LMDB store with its journal (`Durability.normal`), never flushed by its timer during
    /// a case: commits wait in the journal, and lookups are answered from it.
    case lmdbJournaled
    /// The LMDB store created with schema 2 (`calls`, `superseded`, `ids`), written directly.
    case lmdbSchema2
    /// Schema 2 behind the journal, never flushed by its timer during a case.
    case lmdbSchema2Journaled
    /// An LMDB local tier in front of another LMDB store standing in for a remote one.
    case tieredOverLMDB
    case postgres
    case tieredOverPostgres

    var testDescription: String { rawValue }

    /// A store of this kind, empty, with whatever must stay alive while it is used.
    func make() async throws -> OpenedStore {
        let directory = TemporaryDirectory()
        switch self {
        case .lmdb:
            return OpenedStore(store: try LMDBStore(directory.child("store")), directory: directory)
        case .lmdbJournaled, .lmdbSchema2, .lmdbSchema2Journaled:
            var settings = LMDBStore.Configuration()
            settings.durability = self == .lmdbSchema2 ? .durable : .normal
            settings.journalFlushInterval = .seconds(3600)
            if self != .lmdbJournaled { settings.schema = .v2 }
            return OpenedStore(store: try LMDBStore(directory.child("store"), configuration: settings), directory: directory)
        case .tieredOverLMDB:
            let remote = try LMDBStore(directory.child("remote"))
            return OpenedStore(store: TieredStore(local: try LMDBStore(directory.child("local")), remote: remote), directory: directory)
        case .postgres:
            return OpenedStore(store: try await Self.postgres(), directory: directory)
        case .tieredOverPostgres:
            return OpenedStore(store: TieredStore(local: try LMDBStore(directory.child("local")), remote: try await Self.postgres()), directory: directory)
        }
    }

    private static func postgres() async throws -> PostgresStore {
        let cluster = try await PostgresTestCluster.shared()
        return try await PostgresStore(url: try await cluster.makeDatabase())
    }
}

/// A store and the temporary directory its files live in.
struct OpenedStore {
    let store: any Store
    let directory: TemporaryDirectory
}

/// Commit drafts with fixed times, so every store sees the same bytes.
private enum Drafts {
    static let function = CachedFunction("conformance", version: "1") { (x: Int) in x }
    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    static func draft(_ argument: Int, at second: Double, status: CommitStatus = .completed, tags: [String: String] = [:], name: String = "conformance") throws -> CommitDraft {
        let task = TaskDefinition(functionName: name, functionHash: function.identity.hash, functionVersion: "1",
                                  argumentsSnapshot: "(\(argument))")
        return CommitDraft(fingerprint: try function.fingerprint(argument), task: task, status: status,
                           error: status == .failed ? "failed on purpose" : nil, createdAt: epoch.addingTimeInterval(second), tags: tags)
    }

    static func output(_ text: String) -> [UInt8] { Array(text.utf8) }
}

extension HeavySuites {
    /// The behaviour every `Store` shares, run against each store kind (PostgreSQL in a database
    /// of this test process's cluster): one commit core, so the same calls give the same hashes,
    /// lineage, history, counts and removals everywhere.
    @Suite("Store conformance: LMDB, PostgreSQL and tiered stores behave alike")
    struct StoreConformanceTests {
        @Test("a recorded commit is its call's head, readable by hash, prefix and result; stats count it", arguments: StoreKind.allCases)
        func recordAndRead(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let draft = try Drafts.draft(1, at: 0, tags: ["kind": "first"])
            let commit = try await store.record(draft, output: Drafts.output("one"))
            let head = try #require(try await store.head(for: draft.fingerprint))
            #expect(head.commit == commit.hash && head.output == commit.output && head.status == .completed)
            #expect(try await store.commit(commit.hash) == commit)
            #expect(try await store.blob(try #require(commit.output).hash) == Drafts.output("one"))
            #expect(try await store.resolveCommit(try HashPrefix(String(commit.hash.hex.prefix(10)))) == commit.hash)
            await #expect(throws: CashetError.self) { try await store.resolveCommit(try HashPrefix("0000000000")) }
            let stats = try await store.stats()
            #expect(stats.commits == 1 && stats.completed == 1 && stats.blobs == 1 && stats.functions == 1)
            #expect(try await store.commits(matching: CommitQuery(tags: ["kind": "first"])).map(\.hash) == [commit.hash])
            await store.close()
        }

        @Test("log pages by cursor: the pages, joined, are the listing, newest first, ties by hash; filters hold across pages", arguments: StoreKind.allCases)
        func cursorPaging(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            // Several commits share a nanosecond, so a page boundary falls inside a tie.
            let seconds: [Double] = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5]
            let entries = try seconds.enumerated().map { index, second in
                CommitEntry(try Drafts.draft(index, at: second, tags: index % 2 == 0 ? ["half": "yes"] : [:], name: index % 3 == 0 ? "other" : "conformance"),
                            output: Drafts.output("r\(index)"))
            }
            let recorded = try await store.recordBatch(entries)
            let expectedOrder = recorded.sorted { a, b in
                a.createdAt != b.createdAt ? a.createdAt > b.createdAt : b.hash.bytes.lexicographicallyPrecedes(a.hash.bytes)
            }
            for query in [CommitQuery(), CommitQuery(functionName: "other"), CommitQuery(tags: ["half": "yes"])] {
                let full = try await store.commits(matching: query)
                #expect(full.map(\.hash) == expectedOrder.filter { query.functionName == nil || $0.task.functionName == query.functionName }
                    .filter { query.tags.isEmpty || $0.tags["half"] == "yes" }.map(\.hash), "\(query)")
                var paged: [Commit] = []
                var page = query
                page.limit = 4
                while true {
                    let commits = try await store.commits(matching: page)
                    paged += commits
                    guard commits.count == 4, let last = commits.last else { break }
                    // Through its text form, as `cashet serve` hands it out.
                    page.before = try CommitCursor(parsing: CommitCursor(after: last).description)
                }
                #expect(paged.map(\.hash) == full.map(\.hash), "\(query)")
            }
            // A cursor past the oldest commit lists nothing; a malformed one is named.
            #expect(try await store.commits(matching: CommitQuery(before: CommitCursor(after: expectedOrder.last!))).isEmpty)
            #expect(throws: CashetError.self) { try CommitCursor(parsing: "12-nothex") }
            await store.close()
        }

        @Test("the breakdown by function and by day follows every write and removal, without a scan", arguments: StoreKind.allCases)
        func breakdown(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let day: Double = 86_400
            // Drafts.epoch is 2027-01-15T08:00:00Z: days 0, 1 and 3 after it are three UTC days.
            let commits = try await store.recordBatch([
                CommitEntry(try Drafts.draft(1, at: 0), output: Drafts.output("aaaa")),
                CommitEntry(try Drafts.draft(2, at: 10), output: Drafts.output("bb")),
                CommitEntry(try Drafts.draft(3, at: day, name: "other"), output: Drafts.output("c")),
                CommitEntry(try Drafts.draft(4, at: 3 * day, status: .failed, name: "other"), output: nil),
            ])
            var breakdown = try await store.breakdown(days: 2)
            #expect(breakdown.isTracked)
            #expect(breakdown.functions == [.init(name: "conformance", commits: 2, bytes: 6), .init(name: "other", commits: 2, bytes: 1)])
            let midnight = Date(timeIntervalSince1970: (Drafts.epoch.timeIntervalSince1970 / day).rounded(.down) * day)
            #expect(breakdown.days == [.init(day: midnight.addingTimeInterval(day), commits: 1, bytes: 1), .init(day: midnight.addingTimeInterval(3 * day), commits: 1, bytes: 0)])
            #expect(breakdown.earlierCommits == 2 && breakdown.earlierBytes == 6)
            _ = try await store.deleteCommit(commits[2].hash)
            breakdown = try await store.breakdown(days: 10)
            #expect(breakdown.functions == [.init(name: "conformance", commits: 2, bytes: 6), .init(name: "other", commits: 1, bytes: 0)])
            #expect(breakdown.days.map(\.commits) == [2, 1] && breakdown.earlierCommits == 0)
            _ = try await store.evict(EvictionPolicy(olderThan: Date.distantFuture), dryRun: false)
            breakdown = try await store.breakdown(days: 10)
            #expect(breakdown.functions.isEmpty && breakdown.days.isEmpty && breakdown.isTracked)
            await store.close()
        }

        @Test("every store gives the same drafts the same commit hashes, parents included", .timeLimit(.minutes(2)))
        func sameHashesEverywhere() async throws {
            var hashes: [StoreKind: [ContentHash]] = [:]
            for kind in StoreKind.allCases {
                let opened = try await kind.make()
                let entries = [
                    CommitEntry(try Drafts.draft(1, at: 0), output: Drafts.output("a")),
                    CommitEntry(try Drafts.draft(1, at: 1), output: Drafts.output("b")),
                    CommitEntry(try Drafts.draft(2, at: 2, status: .failed), output: nil),
                ]
                hashes[kind] = try await opened.store.recordBatch(entries).map(\.hash)
                await opened.store.close()
            }
            #expect(Set(hashes.values.map { $0.map(\.hex).joined() }).count == 1, "\(hashes)")
        }

        @Test("a batch that repeats a call chains its commits; history lists them oldest first", arguments: StoreKind.allCases)
        func lineage(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let first = try await store.record(try Drafts.draft(3, at: 0), output: Drafts.output("v1"))
            let batch = try await store.recordBatch([
                CommitEntry(try Drafts.draft(3, at: 1), output: Drafts.output("v2")),
                CommitEntry(try Drafts.draft(3, at: 2), output: Drafts.output("v3")),
            ])
            #expect(batch[0].parent == first.hash && batch[1].parent == batch[0].hash)
            let fingerprint = try Drafts.function.fingerprint(3)
            #expect(try await store.history(of: fingerprint).map(\.hash) == [first.hash, batch[0].hash, batch[1].hash])
            #expect(try await store.head(for: fingerprint)?.commit == batch[1].hash)
            // Removing the head makes the commit before it the head again.
            _ = try await store.deleteCommit(batch[1].hash)
            #expect(try await store.head(for: fingerprint)?.commit == batch[0].hash)
            #expect(try await store.stats().commits == 2)
            await store.close()
        }

        @Test("an imported commit older than the head stays out of the head; importing it twice adds nothing", arguments: StoreKind.allCases)
        func imports(kind: StoreKind) async throws {
            let source = try await StoreKind.lmdb.make()
            let older = try await source.store.record(try Drafts.draft(4, at: 0), output: Drafts.output("old"))
            let opened = try await kind.make()
            let store = opened.store
            let newer = try await store.record(try Drafts.draft(4, at: 10), output: Drafts.output("new"))
            #expect(try await store.importCommit(older, output: Drafts.output("old")))
            #expect(try await !store.importCommit(older, output: Drafts.output("old")))
            #expect(try await store.head(for: older.fingerprint)?.commit == newer.hash)
            #expect(try await store.commit(older.hash) == older)
            // A result that is not the one the commit names is refused.
            let other = try await source.store.record(try Drafts.draft(5, at: 0), output: Drafts.output("right"))
            await #expect(throws: CashetError.self) { try await store.importCommit(other, output: Drafts.output("wrong")) }
            await source.store.close()
            await store.close()
        }

        @Test("gc: a dry run reports what the real run removes; a result shared with a kept commit stays", arguments: StoreKind.allCases)
        func eviction(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let old = try await store.record(try Drafts.draft(6, at: 0), output: Drafts.output("shared"))
            _ = try await store.record(try Drafts.draft(7, at: 0), output: Drafts.output("only old"))
            let kept = try await store.record(try Drafts.draft(8, at: 100), output: Drafts.output("shared"))
            let policy = EvictionPolicy(olderThan: Drafts.epoch.addingTimeInterval(50))
            let dry = try await store.evict(policy, dryRun: true)
            let real = try await store.evict(policy, dryRun: false)
            #expect(dry.commitsRemoved == 2 && real.commitsRemoved == 2)
            #expect(dry.blobsRemoved == 1 && real.blobsRemoved == 1, "only the result no kept commit uses")
            #expect(dry.bytesFreed == real.bytesFreed && dry.storedBytesFreed == real.storedBytesFreed)
            #expect(try await store.commit(old.hash) == nil)
            #expect(try await store.blob(try #require(kept.output).hash) == Drafts.output("shared"))
            // A size limit of zero removes the rest, least recently used first.
            let all = try await store.evict(EvictionPolicy(maxStoredBytes: 0), dryRun: false)
            #expect(all.commitsRemoved == 1 && all.blobsRemoved == 1)
            let stats = try await store.stats()
            #expect(stats.commits == 0 && stats.blobs == 0 && stats.storedBytes == 0)
            await #expect(throws: CashetError.self) { try await store.evict(EvictionPolicy(maxStoredBytes: -1), dryRun: true) }
            await store.close()
        }

        @Test("rm: a planned removal reports what removing the same commits frees, changing nothing; a missing commit is notFound", arguments: StoreKind.allCases)
        func plannedRemoval(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let first = try await store.record(try Drafts.draft(20, at: 0), output: Drafts.output("shared by two"))
            let second = try await store.record(try Drafts.draft(21, at: 1), output: Drafts.output("shared by two"))
            let failed = try await store.record(try Drafts.draft(22, at: 2, status: .failed), output: nil)
            // One of two users of a result frees nothing; both (named twice, too) free it once.
            let one = try await store.plannedRemoval(of: [first.hash])
            #expect(one.commitsRemoved == 1 && one.blobsRemoved == 0 && one.bytesFreed == 0)
            let both = try await store.plannedRemoval(of: [first.hash, second.hash, first.hash, failed.hash])
            #expect(both.commitsRemoved == 3 && both.blobsRemoved == 1 && both.bytesFreed == "shared by two".utf8.count)
            #expect(try await store.stats().commits == 3, "a plan changes nothing")
            let absent = try ContentHash(hex: String(repeating: "ab", count: 32))
            await #expect(throws: CashetError.self) { try await store.plannedRemoval(of: [first.hash, absent]) }
            await store.close()
        }

        @Test("a result's hash (or a prefix) finds the commits that produced it, newest first; progress counts what fsck and gc do", arguments: StoreKind.allCases)
        func commitsByResult(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let older = try await store.record(try Drafts.draft(30, at: 0), output: Drafts.output("same result"))
            let newer = try await store.record(try Drafts.draft(31, at: 5), output: Drafts.output("same result"))
            let other = try await store.record(try Drafts.draft(32, at: 9), output: Drafts.output("another result"))
            let result = try #require(older.output).hash
            let found = try await store.commitsProducing(try HashPrefix(result.hex))
            #expect(found.map(\.hash) == [newer.hash, older.hash])
            #expect(try await store.commitsProducing(try HashPrefix(String(result.hex.prefix(12)))).map(\.hash) == [newer.hash, older.hash])
            #expect(try await store.commitsProducing(try HashPrefix(try #require(other.output).hash.hex)).map(\.hash) == [other.hash])
            // A commit's own hash is no result's.
            await #expect(throws: CashetError.self) { try await store.commitsProducing(try HashPrefix(older.hash.hex)) }

            let counts = Counts()
            let report = try await store.check(repair: false, progress: { done, total in counts.add(done, total) })
            #expect(report.problems.filter(\.kind.isDamage).isEmpty)
            let last = try #require(counts.last)
            #expect(last.done == last.total && last.done >= 3, "fsck's last count: \(last)")
            let removals = Counts()
            _ = try await store.evict(EvictionPolicy(olderThan: Drafts.epoch.addingTimeInterval(7)), dryRun: false, progress: { done, total in removals.add(done, total) })
            #expect(removals.last.map { $0.done == 2 && $0.total == 2 } == true, "gc's last count: \(String(describing: removals.last))")
            await store.close()
        }

        @Test("a function's source and identity manifest are kept once and joined to every commit, through export and import too", arguments: StoreKind.allCases)
        func identityManifests(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let manifest = IdentityManifest(
                hash: String(repeating: "ab", count: 32),
                helpers: [IdentityManifest.Helper(module: "Core", kind: "func", signature: "normalize(_:)", file: "Core/Text.swift", line: 12, hash: String(repeating: "cd", count: 32)),
                          IdentityManifest.Helper(module: "Core", kind: "type", signature: "Shape", file: "Core/Shape.swift", line: 3, hash: String(repeating: "ef", count: 32))],
                dependencies: [IdentityManifest.Dependency(package: "swift-numerics", version: "1.0.2", revision: "0123456789abcdef")],
                ignoredDependencies: ["swift-log"])
            let identity = FunctionIdentity(name: "shaped", sourceHash: "5f1e", manifest: manifest, version: "", source: "func shaped(_ x: Int) -> Int { x }")
            let function = CachedFunction(identity: identity) { (x: Int) in x }
            let client = Client(store: opened.store)
            let first = try await client.submit(function, 1)
            let second = try await client.submit(function, 2)
            for ref in [first, second] {
                let commit = try #require(try await opened.store.commit(ref.commit))
                #expect(commit.task.identityManifest == manifest && commit.task.source == identity.source)
            }
            #expect(try await opened.store.stats().functions == 1)
            let archive = opened.directory.child("manifest.cashet")
            _ = try await client.exportArchive(to: archive)
            let copy = try await kind.make()
            let imported = Client(store: copy.store)
            _ = try await imported.importArchive(from: archive)
            #expect(try await copy.store.commit(second.commit)?.task.identityManifest == manifest)
            let report = try await copy.store.check(repair: false)
            #expect(report.problems.filter(\.kind.isDamage).isEmpty, "\(report.problems)")
            await imported.close()
            await client.close()
        }

        @Test("a blob put on its own is kept until a gc sweeps it; a failed commit is a head without a result", arguments: StoreKind.allCases)
        func loneBlobsAndFailures(kind: StoreKind) async throws {
            let opened = try await kind.make()
            let store = opened.store
            let lone = try await store.putBlob(Drafts.output("alone"))
            #expect(try await store.blob(lone.hash) == Drafts.output("alone"))
            let failed = try await store.record(try Drafts.draft(9, at: 0, status: .failed), output: nil)
            let head = try #require(try await store.head(for: failed.fingerprint))
            #expect(head.status == .failed && head.output == nil)
            #expect(try await store.stats().failed == 1)
            _ = try await store.evict(EvictionPolicy(), dryRun: false)
            await #expect(throws: CashetError.self) { try await store.blob(lone.hash) }
            let problems = try await store.check(repair: false).problems.filter(\.kind.isDamage)
            #expect(problems.isEmpty, "\(problems)")
            await store.close()
        }
    }
}

/// The progress counts an operation reported, the last one kept.
private final class Counts: Sendable {
    private let state = Mutex<(done: Int, total: Int)?>(nil)

    func add(_ done: Int, _ total: Int) { state.withLock { $0 = (done, total) } }

    var last: (done: Int, total: Int)? { state.withLock { $0 } }
}
