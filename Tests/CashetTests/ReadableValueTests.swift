@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

private struct Sample: Codable, Sendable {
    var name: String
    var values: [Double]
    var flags: Set<Int>
    var blob: Data
    var missing: Int?
    var nan: Double
}

private let sample = Sample(name: "a\"b\u{1B}[2J", values: [1, 2.5], flags: [3], blob: Data([1, 2]), missing: nil, nan: .nan)

@Suite("Results shown as values")
struct ReadableValueTests {
    @Test("a binary-format value renders as JSON: every kind of value, escapes, NaN")
    func rendering() throws {
        let bytes = try BinarySerializer().encode(sample)
        #expect(try BinaryJSON.render(bytes, pretty: false) == #"{"blob":"AQI=","flags":[3],"name":"a\"b\u001b[2J","nan":"NaN","values":[1.0,2.5]}"#)
        let pretty = try BinaryJSON.render(bytes)
        #expect(pretty.hasPrefix("{\n  \"blob\": \"AQI=\",\n  \"flags\": [\n    3\n  ],"))
        let parsed = try JSONSerialization.jsonObject(with: Data(pretty.utf8)) as? NSDictionary
        #expect(parsed == (try JSONSerialization.jsonObject(with: Data(try BinaryJSON.render(bytes, pretty: false).utf8)) as? NSDictionary))
        #expect(BinaryJSON.preview(bytes, limit: 20) == #"{"blob":"AQI=","fla…"#)
        let reference = [BinaryTag.resultRef.rawValue] + (0..<32).map { UInt8($0 * 8) }
        #expect(try BinaryJSON.render(reference) == #"{"result":"# + "\"" + (0..<32).map { String(format: "%02x", $0 * 8) }.joined() + "\"}")
    }

    @Test("bytes that are not exactly one value (cut, trailing, too deep, unknown tag) are a typed error")
    func notOneValue() throws {
        let bytes = try BinarySerializer().encode(sample)
        for length in 0..<bytes.count {
            #expect(throws: CashetError.self) { try BinaryJSON.render(Array(bytes[..<length])) }
        }
        #expect(throws: CashetError.self) { try BinaryJSON.render(bytes + [0]) }
        #expect(throws: CashetError.self) { try BinaryJSON.render([0x7F]) }
        let deep: [UInt8] = Array(repeating: [BinaryTag.array.rawValue, UInt8(1)], count: 300).flatMap { $0 } + [BinaryTag.null.rawValue]
        #expect(throws: CashetError.self) { try BinaryJSON.render(deep) }
        #expect(BinaryJSON.preview(Array("plain text".utf8)) == nil)
    }

    @Test("get prints a result as JSON on a terminal and its raw bytes to a pipe; show previews it")
    func getOnATerminal() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let client = try Client(path: store)
        let make = CachedFunction("make", version: "1") { (_: Int) in sample }
        let ref = try await client.submit(make, 1)
        await client.close()

        let terminal = try onTerminal("\(Products.cli) --store \(store) get \(ref.commit.hex)")
        #expect(terminal.status == 0, "\(terminal.stdout) \(terminal.stderr)")
        let shown = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(shown == (try BinaryJSON.render(try BinarySerializer().encode(sample))) + "\n", "\(shown)")
        #expect(!shown.contains("\u{1B}"), "a control character reached the terminal")

        let stored = try await ref.loadBytes()
        let piped = try Products.run("/bin/sh", ["-c", "'\(Products.cli)' --store '\(store)' get \(ref.commit.hex) > '\(directory.child("piped"))'"])
        #expect(piped.status == 0 && FileManager.default.contents(atPath: directory.child("piped")).map(Array.init) == stored)
        let raw = try onTerminal("\(Products.cli) --store \(store) get --binary --output \(directory.child("out")) \(ref.commit.hex)")
        #expect(raw.status == 0 && FileManager.default.contents(atPath: directory.child("out")).map(Array.init) == stored)

        let show = try Products.run(Products.cli, ["--store", store, "show", ref.commit.hex])
        // One line of at most 80 characters.
        #expect(show.stdout.contains(#"value       {"blob":"AQI=","flags":[3],"name":"a\"b\u001b[2J","nan":"NaN","values":[1.0,2.5…"# + "\n"), "\(show.stdout)")
    }

    @Test("a result's hash, as a program prints it, works where a commit's does: show lists its producers, get writes it, client.get decodes it")
    func resultHashes() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let client = try Client(path: store)
        let same = CachedFunction("same", version: "1") { (x: Int) in x >= 0 ? "non-negative" : "negative" }
        let first = try await client.submit(same, 1)
        let second = try await client.submit(same, 2)
        #expect(first.hash == second.hash && first.commit != second.commit, "two calls, one result")
        #expect(try await client.get(first.hash.hex, as: String.self) == "non-negative")
        #expect(try await client.get(String(first.commit.hex.prefix(10)), as: String.self) == "non-negative")
        #expect(try await client.commits(producing: first.hash.hex).map(\.hash) == [second.commit, first.commit])
        await #expect(throws: CashetError.self) { try await client.get(first.hash.hex, as: Int.self) }
        await client.close()

        let prefix = String(first.hash.hex.prefix(10))
        let show = try Products.cashet("--store", store, "show", prefix)
        #expect(show.status == 0 && show.stdout.contains("result      \(first.hash.hex), produced by 2 commit(s)") && show.stdout.contains("commit      \(second.commit.hex)"), "\(show.stdout)\(show.stderr)")
        let json = try Products.cashet("--store", store, "show", "--json", prefix)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["hash"] as? String == second.commit.hex && object["result_producers"] as? [String] == [second.commit.hex, first.commit.hex])
        let plainShow = try Products.cashet("--store", store, "show", "--json", first.commit.hex)
        #expect(!plainShow.stdout.contains("result_producers"), "a commit's own hash lists no producers")
        let get = try Products.cashet("--store", store, "get", prefix)
        let bytes = try await first.loadBytes()
        #expect(get.status == 0 && get.stdout.utf8.elementsEqual(bytes), "\(get.stderr)")
        let missing = try Products.cashet("--store", store, "get", "abcdef0123")
        #expect(missing.status != 0 && missing.stderr.hasPrefix("error: no commit matches 'abcdef0123'") && missing.stderr.contains("nor any result"), "\(missing.stderr)")
    }
}
