import CashetMacros
import CashetTestSupport
import Foundation
import Testing

/// A client over a fresh store in its own temp directory.
struct Fixture {
    let directory = TemporaryDirectory()
    let client: Client

    init() throws {
        client = Client(store: try LMDBStore(directory.child("store")))
    }
}

@Suite("@Cached in use (macro + build-tool plugin)", .serialized)
struct CachedMacroUseTests {
    @Test("client.submit($function, args…) runs once and then hits")
    func submitGenerated() async throws {
        let fixture = try Fixture()
        let before = fixtureRuns.value
        let ref = try await fixture.client.submit($expensiveTransform, [1, 2, 3], 2.0)
        #expect(try await ref.load() == [2, 4, 6])
        let again = try await fixture.client.submit($expensiveTransform, [1, 2, 3], 2.0)
        #expect(again.wasCached && fixtureRuns.value == before + 1)
        #expect($expensiveTransform.identity.name == "expensiveTransform")
        #expect($expensiveTransform.identity.source?.contains("data.map { $0 * scale * unitFactor() }") == true)
    }

    @Test("static methods use their type; instance methods key on the receiver too")
    func methods() async throws {
        let fixture = try Fixture()
        #expect(try await fixture.client.submit(Geometry.$area, 7).load() == 49)
        #expect(Geometry.$area.identity.name == "Geometry.area" && Geometry.$area.tags == ["kind": "geometry"])
        let two = try await fixture.client.submit(Meter.$scaled, Meter(value: 2), 3.0)
        let three = try await fixture.client.submit(Meter.$scaled, Meter(value: 3), 3.0)
        #expect(try await two.load() == 6)
        #expect(try await three.load() == 9)
        #expect(!three.wasCached)
        #expect(try await fixture.client.submit(Meter.$scaled, Meter(value: 2), 3.0).wasCached)
    }

    @Test("the commit records the function's name and original source (what cashet show prints)")
    func commitRecordsSource() async throws {
        let fixture = try Fixture()
        let ref = try await fixture.client.submit(Geometry.$area, 5)
        let commit = try await fixture.client.show(String(ref.commit.hex.prefix(10)))
        #expect(commit.task.functionName == "Geometry.area" && commit.task.functionVersion == "1")
        #expect(commit.task.source?.contains("static func area(_ side: Int) -> Int { side * side }") == true)
        #expect(commit.fingerprint.functionHash == Geometry.$area.identity.hash)
    }

    @Test("an unchanged function has the same identity in two separately built targets and two processes")
    func identityAcrossBuilds() throws {
        let probe = Products.executable("IdentityProbe")
        let first = try Products.run(probe, [])
        let second = try Products.run(probe, [])
        #expect(first.status == 0 && first.stdout == second.stdout, "\(first.stderr)")
        #expect(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == $sharedIdentityProbe.identity.hash.hex)
        // Different functions, different identities.
        #expect($sharedIdentityProbe.identity.hash != $expensiveTransform.identity.hash)
    }
}
