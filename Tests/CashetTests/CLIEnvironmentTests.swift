import Cashet
import CashetTestSupport
import Foundation
import Testing

/// Runs `command` (already quoted for the shell) on a pseudo-terminal with `script`, so the
/// CLI sees a terminal on stdin, stdout and stderr; `environment` entries are set first, after
/// removing the `NO_COLOR` that swift test sets.
/// Runs `command` on a pseudo-terminal (`script`), as a person at a terminal would.
/// `PAGER=cat` unless `environment` names a pager: a real pager would wait for keys no test presses.
func onTerminal(_ command: String, environment: [String: String] = [:]) throws -> ProcessResult {
    let settings = environment.merging(["PAGER": "cat"]) { given, _ in given }.map { "\($0.key)=\($0.value)" }
    return try Products.run("/usr/bin/env", ["-u", "NO_COLOR"] + settings + ["TERM=xterm", "/usr/bin/script", "-qec", command, "/dev/null"])
}

@Suite("the CLI on terminals, read-only directories and busy stores")
struct CLIEnvironmentTests {
    static func smallStore() async throws -> (Fixture, String) {
        let fixture = try Fixture()
        let square = CachedFunction("square", version: "1") { (x: Int) in x * x }
        for x in 1...3 { _ = try await fixture.client.submit(square, x) }
        let newest = try await fixture.client.log(CommitQuery(limit: 1))[0].hash.hex
        return (fixture, newest)
    }

    @Test("shell completion scripts for bash, zsh and fish name the subcommands")
    func completionScripts() throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try Products.run(Products.cli, ["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("fsck") && script.stdout.contains("gc"), "\(shell): \(script.stderr)")
        }
    }

    @Test("colour on a terminal without NO_COLOR, or as --color and FORCE_COLOR say; a progress line only when stderr is a terminal")
    func colourAndProgress() async throws {
        let (fixture, _) = try await Self.smallStore()
        let log = "\(Products.cli) log --store \(fixture.storePath)"
        let coloured = try onTerminal(log)
        #expect(coloured.stdout.contains("\u{1B}[33m"), "\(coloured)")
        #expect(!(try onTerminal(log, environment: ["NO_COLOR": "1"]).stdout.contains("\u{1B}[")))
        let piped = try Products.cashet("log", "--store", fixture.storePath)
        #expect(piped.status == 0 && !piped.stdout.contains("\u{1B}["))
        // --color beats the environment; FORCE_COLOR colours a pipe unless NO_COLOR says no.
        #expect(!(try onTerminal(log + " --color never").stdout.contains("\u{1B}[")))
        #expect(try Products.cashet("--color", "always", "log", "--store", fixture.storePath).stdout.contains("\u{1B}[33m"))
        #expect(try Products.run("/usr/bin/env", ["-u", "NO_COLOR", "FORCE_COLOR=1", Products.cli, "log", "--store", fixture.storePath]).stdout.contains("\u{1B}[33m"))
        #expect(!(try Products.run(Products.cli, ["log", "--store", fixture.storePath], environment: ["FORCE_COLOR": "1", "NO_COLOR": "1"]).stdout.contains("\u{1B}[")))
        let bad = try Products.cashet("log", "--color", "sometimes", "--store", fixture.storePath)
        #expect(bad.status == 2 && bad.stderr.contains("sometimes"), "\(bad.stderr)")

        // Work that ends within CASHET_PROGRESS_DELAY (1 s by default) draws no line at all.
        let brief = try onTerminal("\(Products.cli) gc --dry-run --store \(fixture.storePath)")
        #expect(brief.status == 0 && !brief.stdout.contains("gc…") && brief.stdout.contains("would remove"), "\(brief.stdout)")
        let noDelay = ["CASHET_PROGRESS_DELAY": "0"]
        let gc = try onTerminal("\(Products.cli) gc --dry-run --store \(fixture.storePath)", environment: noDelay)
        #expect(gc.status == 0 && gc.stdout.contains("gc…") && gc.stdout.contains("would remove"), "\(gc.stdout)")
        // Counted: n/N, the rate and the time left, then erased.
        let fsck = try onTerminal("\(Products.cli) fsck --store \(fixture.storePath)", environment: noDelay)
        #expect(fsck.status == 0 && fsck.stdout.contains("] 100% 3/3 ") && fsck.stdout.contains("/s ETA 0 s\r\u{1B}[K"), "\(fsck.stdout)")
        let quiet = try Products.run(Products.cli, ["gc", "--dry-run", "--store", fixture.storePath], environment: noDelay)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test("every error is written as git writes one, \"error: …\", usage errors from the argument parser too")
    func oneErrorStyle() throws {
        let usage = try Products.cashet("diff", "a", "b", "c")
        #expect(usage.status == 2 && usage.stderr.hasPrefix("error: ") && !usage.stderr.contains("Error: "), "\(usage.stderr)")
        let missing = try Products.cashet("show", "--store", TemporaryDirectory().child("none"))
        #expect(missing.status != 0 && missing.stderr.hasPrefix("error: "), "\(missing.stderr)")
    }

    @Test("log, history and diff go through $PAGER on a terminal; --no-pager and pipes print directly")
    func pager() async throws {
        let (fixture, newest) = try await Self.smallStore()
        let directory = TemporaryDirectory()
        let short = String(newest.prefix(12))
        for (index, command) in [["log"], ["history", newest], ["diff", newest, newest]].enumerated() {
            let line = "\(Products.cli) \(command.joined(separator: " ")) --store \(fixture.storePath)"
            let paged = directory.child("paged-\(index)")
            let shown = try onTerminal(line, environment: ["PAGER": "cat > \(paged)"])
            #expect(shown.status == 0 && !shown.stdout.contains(short), "\(command): \(shown.stdout)")
            #expect(((try? String(contentsOfFile: paged, encoding: .utf8)) ?? "").contains(short), "\(command) did not reach the pager")
            let skipped = directory.child("skipped-\(index)")
            let direct = try onTerminal(line + " --no-pager", environment: ["PAGER": "cat > \(skipped)"])
            #expect(direct.stdout.contains(short) && !FileManager.default.fileExists(atPath: skipped), "\(command) --no-pager")
        }
        let notATerminal = directory.child("piped")
        let piped = try Products.run("/usr/bin/env", ["PAGER=cat > \(notATerminal)", Products.cli, "log", "--store", fixture.storePath])
        #expect(piped.stdout.contains(short) && !FileManager.default.fileExists(atPath: notATerminal))
    }

    @Test("get shows a binary-format result as JSON on a terminal and refuses other binary bytes unless --binary; pipes and files get the bytes")
    func binaryToTerminal() async throws {
        let (fixture, newest) = try await Self.smallStore()
        let shown = try onTerminal("\(Products.cli) get \(newest) --store \(fixture.storePath)")
        #expect(shown.status == 0 && shown.stdout == "9\r\n", "\(shown.stdout)")
        let bytes = CachedFunction("bytes", version: "1") { (x: Int) -> [UInt8] in [0, 0xFF, 0x80, UInt8(x)] }
        let raw = try await Client(store: fixture.client.store, serializer: RawBytesSerializer()).submit(bytes, 1)
        let refused = try onTerminal("\(Products.cli) get \(raw.commit.hex) --store \(fixture.storePath)")
        #expect(refused.status == 2 && refused.stdout.contains("is binary") && refused.stdout.contains("--binary"), "\(refused.stdout)")
        let forced = try onTerminal("\(Products.cli) get \(raw.commit.hex) --binary --store \(fixture.storePath)")
        #expect(forced.status == 0)
        let piped = try Products.cashet("get", newest, "--store", fixture.storePath)
        let expected = try await fixture.client.get(newest)
        #expect(piped.status == 0 && Array(piped.stdout.utf8) == expected)
    }

    @Test("read commands work on a store the user cannot write; writing commands fail naming the store")
    func readOnlyDirectory() async throws {
        let (fixture, newest) = try await Self.smallStore()
        await fixture.client.close()
        // As root (CI), permissions do not bind: run the CLI as `nobody`. Otherwise remove write permission.
        let asRoot = getuid() == 0
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fixture.directory.path)
        // Stores are private (0700/0600): share this one read-only, as its owner would.
        for path in [fixture.storePath, fixture.storePath + "/data.mdb", fixture.storePath + "/lock.mdb", fixture.storePath + "/journal"] {
            let isDirectory = path.hasSuffix("store")
            try FileManager.default.setAttributes([.posixPermissions: asRoot ? (isDirectory ? 0o755 : 0o644) : (isDirectory ? 0o555 : 0o444)], ofItemAtPath: path)
        }
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fixture.storePath) }
        func cashet(_ arguments: [String]) throws -> ProcessResult {
            asRoot ? try Products.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", Products.cli] + arguments)
                   : try Products.run(Products.cli, arguments)
        }
        let before = try fileDigest(fixture.storePath + "/data.mdb")
        for arguments in [["log"], ["show", newest], ["history", newest], ["stats", "--json"], ["diff", newest, newest]] {
            let result = try cashet(arguments + ["--store", fixture.storePath])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let get = try cashet(["get", newest, "--store", fixture.storePath])
        let expected = try await fixture.client.get(newest)
        #expect(get.status == 0 && Array(get.stdout.utf8) == expected)
        let rm = try cashet(["rm", newest, "--store", fixture.storePath])
        #expect(rm.status == 4 && rm.stderr.contains(fixture.storePath), "\(rm.stderr)")
        #expect(try fileDigest(fixture.storePath + "/data.mdb") == before)
        #expect(try await fixture.client.show(newest).hash.hex == newest)
    }

    @Test("read commands answer while another process is writing large results")
    func besideAWriter() async throws {
        let directory = TemporaryDirectory()
        let store = directory.child("store")
        let writer = try HeavySuites.CrashTests.startWriter(store: store, log: directory.child("log"), seed: 7)
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        // Wait for the first commit.
        while (try? String(contentsOfFile: directory.child("log"), encoding: .utf8))?.contains("stored") != true { usleep(20_000) }
        for round in 0..<15 {
            let stats = try Products.cashet("stats", "--json", "--store", store)
            #expect(stats.status == 0, "round \(round): \(stats.stderr)")
            let log = try Products.cashet("log", "-n", "3", "--json", "--store", store)
            #expect(log.status == 0, "round \(round): \(log.stderr)")
            let newest = try #require(log.stdout.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            let show = try Products.cashet("show", try #require(newest["hash"] as? String), "--store", store)
            // A commit the writer removed between log and show is "not found", never an error of the store.
            #expect(show.status == 0 || show.status == 1, "round \(round): \(show.stderr)")
        }
    }
}
