@_spi(Fuzzing) @testable import Cashet
import Foundation
import Testing

/// Replays the fuzzing corpora (Fuzz/Corpus, see scripts/fuzz.sh) through the same entry points
/// libFuzzer drives: seeds must be accepted, and inputs that once crashed must now be refused
/// with a typed error. A crash here kills the test process, failing the suite.
@Suite("Fuzz corpora as regression tests")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/Corpus").standardized.path

    @Test("every committed seed is accepted and every former crash is refused", arguments: FuzzTarget.allCases)
    func corpus(target: FuzzTarget) throws {
        let directory = Self.corpus + "/" + target.rawValue
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.contains { $0.hasPrefix("seed-") }, "no seeds for \(target) in \(directory)")
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            let accepted = target.run(Array(bytes))
            if name.hasPrefix("seed-") { #expect(accepted, "\(target) refused its seed \(name)") }
            if name.hasPrefix("crash-") { #expect(!accepted, "\(target) accepted the former crash \(name)") }
        }
    }

    @Test("the seeds the real writers make today are accepted (the committed corpus is not stale)", arguments: FuzzTarget.allCases)
    func freshSeeds(target: FuzzTarget) async throws {
        let seeds = try await target.seeds()
        #expect(!seeds.isEmpty)
        for (index, seed) in seeds.enumerated() { #expect(target.run(seed), "\(target) refused fresh seed \(index)") }
    }

    @Test("inputs the fuzzer found: an output size or reference count beyond Int is refused as corrupt data, not a trap")
    func countOverflow() throws {
        var reader = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], what: "probe")
        #expect(throws: CashetError.self) { try reader.readCount() }
        var fits = ByteReader([0x80, 0x01], what: "probe")
        #expect(try fits.readCount() == 128)
    }
}
