import CashetMacros
import CashetTestSupport
import Foundation
import Testing

/// A user's package (Fixtures/): a `Core` library, a `Pipeline` executable applying the
/// plugin, a package referenced by path and one by Git URL and exact version. It is copied
/// into `.build/user-package/` and built with `swift build` as a user builds it, so the build
/// is incremental across test runs (the first one builds swift-syntax and cashet: minutes).
struct UserPackage {
    static let integrationTests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = integrationTests.appending(path: "Fixtures")
    static let work = integrationTests.appending(path: ".build/user-package")
    var root: URL { Self.work.appending(path: "UserPipeline") }
    var numerics: URL { Self.work.appending(path: "numerics-lite") }

    /// One line of the Pipeline's output.
    struct Call: Equatable {
        let identity: String
        let hit: Bool
        let commit: String
    }

    /// Writes the pristine sources (only files whose content differs, so unchanged ones keep
    /// their times) with the Git dependency pinned at `numericsVersion`.
    func reset(numericsVersion: String = "1.0.0") throws {
        try makeNumericsRepository()
        try copy(Self.fixtures.appending(path: "local-dep"), to: Self.work.appending(path: "local-dep"))
        try copy(Self.fixtures.appending(path: "UserPipeline"), to: root)
        let manifest = try String(contentsOf: Self.fixtures.appending(path: "UserPipeline/Package.swift"), encoding: .utf8)
            .replacingOccurrences(of: "@CASHET_PATH@", with: Self.integrationTests.deletingLastPathComponent().path)
            .replacingOccurrences(of: "@NUMERICS_URL@", with: numerics.absoluteString)
            .replacingOccurrences(of: "@NUMERICS_VERSION@", with: numericsVersion)
        try write(manifest, to: root.appending(path: "Package.swift"))
    }

    /// Replaces `old` with `new` in a file of the work copy (`UserPipeline/...` or `local-dep/...`).
    func edit(_ path: String, _ old: String, _ new: String) throws {
        // A second edit within the file system's timestamp granularity of the last build could go unseen.
        Thread.sleep(forTimeInterval: 1.5)
        let url = Self.work.appending(path: path)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(old), "\(path) has no '\(old)'")
        try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
    }

    /// `swift build --product Pipeline`, as a user runs it.
    func build() throws {
        Thread.sleep(forTimeInterval: 1.5)
        let result = try Products.run("/usr/bin/env", ["swift", "build", "--package-path", root.path, "--product", "Pipeline"])
        try #require(result.status == 0, "swift build failed:\n\(result.stdout.suffix(4000))\n\(result.stderr.suffix(4000))")
    }

    /// Runs the Pipeline against `store`: each cached function's identity, hit or miss, commit.
    func run(store: String) throws -> [String: Call] {
        let result = try Products.run(root.appending(path: ".build/debug/Pipeline").path, [store])
        try #require(result.status == 0, "\(result.stderr)")
        var calls: [String: Call] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            try #require(fields.count == 4, "\(line)")
            calls[fields[0]] = Call(identity: fields[1], hit: fields[2] == "hit", commit: fields[3])
        }
        try #require(calls.count == 5, "\(result.stdout)")
        return calls
    }

    private func makeNumericsRepository() throws {
        guard !FileManager.default.fileExists(atPath: numerics.appending(path: ".git").path) else { return }
        try? FileManager.default.removeItem(at: numerics)
        try copy(Self.fixtures.appending(path: "numerics-lite"), to: numerics)
        try git("init", "-q")
        try git("add", "-A")
        try git("commit", "-q", "-m", "1.0.0")
        try git("tag", "1.0.0")
        // The same code: only the version tells 1.1.0 apart.
        try git("commit", "-q", "--allow-empty", "-m", "1.1.0")
        try git("tag", "1.1.0")
    }

    private func git(_ arguments: String...) throws {
        let result = try Products.run("/usr/bin/env", ["git", "-C", numerics.path, "-c", "user.name=cashet", "-c", "user.email=cashet@localhost"] + arguments)
        try #require(result.status == 0, "git \(arguments): \(result.stderr)")
    }

    private func copy(_ source: URL, to destination: URL) throws {
        let files = FileManager.default.enumerator(at: source, includingPropertiesForKeys: [.isRegularFileKey])?.compactMap { $0 as? URL } ?? []
        for file in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let relative = String(file.standardizedFileURL.path.dropFirst(source.standardizedFileURL.path.count + 1))
            try write(try String(contentsOf: file, encoding: .utf8), to: destination.appending(path: relative))
        }
    }

    private func write(_ text: String, to url: URL) throws {
        guard (try? String(contentsOf: url, encoding: .utf8)) != text else { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
}

@Suite("A user's multi-target package: edits invalidate exactly the functions they reach", .serialized)
struct UserPackageTests {
    /// Which functions missed (ran again) in `calls`.
    func missed(_ calls: [String: UserPackage.Call]) -> Set<String> {
        Set(calls.filter { !$0.value.hit }.map(\.key))
    }

    @Test("helpers in another target, stored-property defaults, computed properties, dependency versions and local packages", .timeLimit(.minutes(20)))
    func editsInvalidateExactly() async throws {
        let package = UserPackage()
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        try package.reset()
        try package.build()
        let base = try package.run(store: store)
        #expect(missed(base).count == 5)
        // Another process, the same identities, all hits.
        let again = try package.run(store: store)
        #expect(missed(again).isEmpty && again.mapValues(\.identity) == base.mapValues(\.identity))

        // An edit in the dependency target that no cached function reaches: nothing runs again.
        try package.edit("UserPipeline/Sources/Core/Text.swift", "{ 42 }", "{ 43 }")
        try package.build()
        let unrelated = try package.run(store: store)
        #expect(missed(unrelated).isEmpty && unrelated.mapValues(\.identity) == base.mapValues(\.identity))

        // A helper in the dependency target: only the function that reaches it.
        try package.edit("UserPipeline/Sources/Core/Text.swift", "$0 != \" \"", "$0 != \" \" && $0 != \"!\"")
        try package.build()
        let helper = try package.run(store: store)
        #expect(missed(helper) == ["process"])

        let client = Client(store: try LMDBStore(store))
        let changes = try await client.diff(base["process"]!.commit, helper["process"]!.commit).identityChanges.map(\.description)
        #expect(changes == ["helper `normalize(_:)` in Core/Text.swift changed"])
        let recorded = try await client.show(helper["process"]!.commit).task.identityManifest
        #expect(recorded?.helpers.map { "\($0.kind) \($0.signature) \($0.file):\($0.line)" } == ["func normalize(_:) Core/Text.swift:4"])
        #expect(recorded?.dependencies.map { "\($0.package) \($0.version)" } == ["local-dep local", "numerics-lite 1.0.0"])

        // A stored property's default: the functions that build the type.
        try package.edit("UserPipeline/Sources/Core/Settings.swift", "factor = 2", "factor = 3")
        try package.build()
        #expect(missed(try package.run(store: store)) == ["scaled", "factored"])

        // A computed property.
        try package.edit("UserPipeline/Sources/Core/Settings.swift", "factor * 2", "factor * 4")
        try package.build()
        #expect(missed(try package.run(store: store)).isSuperset(of: ["scaled"]))
        #expect(try package.run(store: store)["process"]?.identity == helper["process"]?.identity)

        // A new version of the Git dependency, same code: what depends on it, not what ignores it.
        try package.reset(numericsVersion: "1.1.0")
        try package.edit("UserPipeline/Sources/Core/Text.swift", "$0 != \" \"", "$0 != \" \" && $0 != \"!\"")
        try package.build()
        let upgraded = try package.run(store: store)
        #expect(missed(upgraded).isSuperset(of: ["measured", "process"]) && !missed(upgraded).contains("plain"))
        let versionChanges = try await client.diff(helper["process"]!.commit, upgraded["process"]!.commit).identityChanges.map(\.description)
        #expect(versionChanges.contains("package numerics-lite 1.0.0 → 1.1.0"), "\(versionChanges)")

        // The sources of the package referenced by path.
        try package.edit("local-dep/Sources/LocalDep/Offset.swift", "{ 1 }", "{ 2 }")
        try package.build()
        let local = try package.run(store: store)
        #expect(missed(local).contains("measured") && !missed(local).contains("plain"))
        await client.close()

        // Back to the pristine sources: a separate build gives the first identities, all hits.
        try package.reset()
        try package.build()
        let restored = try package.run(store: store)
        #expect(restored.mapValues(\.identity) == base.mapValues(\.identity) && missed(restored).isEmpty)
    }
}
