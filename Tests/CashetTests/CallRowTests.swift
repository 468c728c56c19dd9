@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Schema 2's row codec: a commit kept as a row must expand to the canonical record of its hash,
/// byte for byte, for every kind of commit (random ones, and every commit of the schema-1 fixture).
@Suite("Schema-2 call rows")
struct CallRowTests {
    private static func roundTrip(_ commit: Commit, result: CallRow.Result, function: FunctionFields) throws {
        let row = CallRow(commit, result: result, function: function)
        let decoded = try CallRow(decoding: row.encoded())
        #expect(decoded == row)
        let head = try CallRow.head(ofEncoded: row.encoded()).head
        #expect(head == CommitHead(commit: commit.hash, output: commit.output, status: commit.status, createdAt: commit.createdAt))
        let expanded = try decoded.expand(function: function, argumentsHash: commit.fingerprint.argumentsHash)
        #expect(expanded.record == CanonicalCommit.encodeCommit(commit.draft, output: commit.output, parent: commit.parent))
        #expect(expanded.commit == commit)
    }

    @Test("random commits (failed, uncached, tagged, re-run, renamed, inline raw, inline zstd, blob results) expand to their own records")
    func randomCommits() throws {
        var generator = SystemRandomNumberGenerator()
        let function = FunctionFields(hash: SHA256Hasher.hash([1]), name: "f", version: "2", details: FunctionDetails(source: "func f() {}"))
        for round in 0..<500 {
            let failed = round % 7 == 0
            let output = Array("result \(round) ".utf8) + (0..<(round % 40)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let result: CallRow.Result
            switch round % 3 {
            case 0: result = .inline(output)
            case 1: result = .inlineCompressed(size: output.count, frame: try Zstd.compress(output, level: 1))
            default: result = .blob(ObjectRef(hash: SHA256Hasher.hash(output), size: output.count))
            }
            var tags: [String: String] = [:]
            for index in 0..<(round % 4) { tags["k\(index)é"] = "v\(round % 5)" }
            let task = TaskDefinition(functionName: round % 11 == 0 ? "renamed" : "f", functionHash: function.hash,
                                      functionVersion: round % 13 == 0 ? "other" : "2", source: function.details.source,
                                      argumentsSnapshot: "(\(round), \"ü\")", cacheable: round % 5 != 0)
            let draft = CommitDraft(fingerprint: Fingerprint(functionHash: function.hash, argumentsHash: SHA256Hasher.hash([UInt8(round % 256), 9])),
                                    task: task, status: failed ? .failed : .completed, error: failed ? "boom \(round)" : nil,
                                    createdAt: CanonicalCommit.date(nanoseconds: Int64.random(in: -1_000_000_000_000...4_000_000_000_000_000_000, using: &generator)),
                                    tags: tags)
            let parent = round % 2 == 0 ? SHA256Hasher.hash([UInt8(round % 256)]) : nil
            let outputRef = failed ? nil : ObjectRef(hash: SHA256Hasher.hash(output), size: output.count)
            let plan = CommitPlanner.plan([draft], outputs: [outputRef], heads: parent.map { [draft.fingerprint: $0] } ?? [:])[0]
            try Self.roundTrip(plan.commit, result: failed ? .none : result, function: function)
        }
    }

    @Test("every commit of the schema-1 fixture expands to the record its hash names")
    func fixtureCommits() async throws {
        let directory = TemporaryDirectory()
        let store = try LMDBStore(try V1FixtureTests.copy(into: directory))
        let commits = try await store.commits(matching: CommitQuery())
        #expect(commits.count == 22)
        for commit in commits {
            let function = FunctionFields(hash: commit.fingerprint.functionHash, name: commit.task.functionName,
                                          version: commit.task.functionVersion, details: commit.task.details)
            var result = CallRow.Result.none
            if let output = commit.output {
                result = output.size <= 256 ? .inline(try await store.blob(output.hash)) : .blob(output)
            }
            try Self.roundTrip(commit, result: result, function: function)
        }
        await store.close()
    }

    @Test("an altered row is refused: a changed result hash, an unknown flag, trailing bytes; a changed result byte is found by its hash")
    func alteredRows() throws {
        let function = FunctionFields(hash: SHA256Hasher.hash([2]), name: "g", version: "", details: .none)
        let output = Array("forty-two".utf8)
        let task = TaskDefinition(functionName: "g", functionHash: function.hash, argumentsSnapshot: "(1)")
        let draft = CommitDraft(fingerprint: Fingerprint(functionHash: function.hash, argumentsHash: SHA256Hasher.hash([3])), task: task,
                                status: .completed, createdAt: Date(timeIntervalSince1970: 1_800_000_000), tags: ["a": "b"])
        let commit = CommitPlanner.plan([draft], outputs: [ObjectRef(hash: SHA256Hasher.hash(output), size: output.count)], heads: [:])[0].commit
        let row = CallRow(commit, result: .inline(output), function: function)
        // The result's hash is part of the record: a changed hash byte makes the row expand to
        // another record; a changed result byte leaves the hash, and the row says it is not intact.
        var bytes = row.encoded()
        let hashStart = 1 + 32 + 8
        bytes[hashStart] ^= 1
        let error = #expect(throws: CashetError.self) {
            try CallRow(decoding: bytes).expand(function: function, argumentsHash: commit.fingerprint.argumentsHash)
        }
        #expect(error?.code == .corruptData)
        var resultByte = row.encoded()
        resultByte[hashStart + 32 + 1] ^= 1
        #expect(try CallRow(decoding: row.encoded()).inlineResultIsIntact)
        #expect(try !CallRow(decoding: resultByte).inlineResultIsIntact)
        #expect(throws: CashetError.self) { try CallRow(decoding: row.encoded() + [0]) }
        var unknownOverride = row.encoded()
        unknownOverride[0] |= 1 << 7
        unknownOverride.insert(0x80, at: 1)
        #expect(throws: CashetError.self) { try CallRow(decoding: unknownOverride) }
        #expect(throws: CashetError.self) { try CallRow(decoding: Array(row.encoded().prefix(20))) }
    }
}
