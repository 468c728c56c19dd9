@testable import Cashet
import CashetTestSupport
import Foundation
import Testing

@Suite("fsck never removes what it could not read")
struct UnreadableResultTests {
    /// Runs the CLI as an unprivileged user when this process is root (root reads any file), so
    /// that a file with mode 000 really cannot be read.
    static func cashetUnprivileged(_ arguments: [String], store: String) throws -> ProcessResult {
        guard getuid() == 0 else { return try Products.run(Products.cli, arguments) }
        #expect(chownTree(store, to: 65534) == 0)
        return try Products.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Products.cli] + arguments)
    }

    static func chownTree(_ path: String, to user: uid_t) -> Int32 {
        var status: Int32 = 0
        if chown(path, user, gid_t(user)) != 0 { status = errno }
        for entry in (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [] where lchown(path + "/" + entry, user, gid_t(user)) != 0 {
            status = errno
        }
        return status
    }

    @Test("a result file that cannot be read (permission denied) is reported as unreadable naming the file, exit 4; --repair leaves it and its commit alone")
    func unreadableFile() async throws {
        let (fixture, a, b) = try await FaultInjectionTests.twoFiledResults()
        let path = fixture.store.files.path(of: a.hash)
        #expect(chmod(path, 0) == 0)
        for arguments in [["fsck"], ["fsck", "--repair"], ["fsck", "--json"]] {
            let result = try Self.cashetUnprivileged(arguments + ["--store", fixture.storePath], store: fixture.storePath)
            #expect(result.status == 4, "\(arguments): \(result.status) \(result.stdout) \(result.stderr)")
            #expect(result.stdout.contains(path) && result.stdout.contains("unreadable"), "\(result.stdout)")
            #expect(!result.stdout.contains("removed"), "\(result.stdout)")
        }
        #expect(chmod(path, 0o600) == 0)
        #expect(try await fixture.client.get(a.commit.hex) == LargeBlobFixture.expected(seed: 1, size: 300_000, compressible: false))
        #expect(try await fixture.client.get(b.commit.hex) == LargeBlobFixture.expected(seed: 2, size: 300_000, compressible: false))
    }
}
