import Cashet
import CashetTestSupport
import Foundation

// A second process for the tests: prints fingerprints and runs cached calls against a store
// given on the command line, so tests can check behaviour across real process boundaries.
//
//   cashet-test-helper fingerprint            → canonical hashes of fixed dictionary/set/float args
//   cashet-test-helper submit STORE N LOGFILE → submits square(N); appends "ran N" to LOGFILE when it executes
//   cashet-test-helper write-large STORE LOGFILE SEED → stores large results until killed (crash tests);
//       appends "stored I COMMIT" after each submit returns, "removing I COMMIT" before each rm and
//       "removed I COMMIT" after it returns

struct Payload: CashetValue, Hashable {
    var name: String
    var weights: [String: Double]
    var labels: Set<String>
}

let arguments = CommandLine.arguments

/// Appends one line with O_APPEND, so lines from concurrent processes never interleave.
func appendLine(_ line: String, to path: String) {
    guard let file = fopen(path, "a") else { fail("cannot open \(path)") }
    fputs(line + "\n", file)
    fclose(file)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("cashet-test-helper: \(message)\n".utf8))
    exit(2)
}

switch arguments.dropFirst().first {
case "fingerprint":
    // Built in a scrambled order on purpose: the hash must not depend on insertion order.
    var weights: [String: Double] = [:]
    for key in ["zeta", "alpha", "mu", "beta", "omega", "kappa"].shuffled() { weights[key] = Double(key.count) / 3 }
    let labels = Set(["red", "green", "blue", "cyan", "magenta"].shuffled())
    let payload = Payload(name: "p", weights: weights, labels: labels)
    var nested: [Int: Set<Int>] = [:]
    for i in (0..<20).shuffled() { nested[i] = Set((0..<i).shuffled()) }
    let probe = CachedFunction("probe", version: "1") { (_: Payload, _: [String: Double], _: Set<String>, _: [Int: Set<Int>], _: [Double], _: String) in 0 }
    do {
        print(try probe.fingerprint(payload, weights, labels, nested, [Double.nan, -0.0, 0.0, .infinity], "héllo"))
        print(try probe.fingerprint(payload, [String: Double](), Set<String>(), [Int: Set<Int>](), [Double](), ""))
    } catch {
        fail("\(error)")
    }
case "submit":
    guard arguments.count == 5, let n = Int(arguments[3]) else { fail("usage: submit STORE N LOGFILE") }
    let log = arguments[4]
    let square = CachedFunction("square", version: "1") { (x: Int) -> Int in
        appendLine("ran \(x)", to: log)
        return x * x
    }
    do {
        let client = try Client(path: arguments[2])
        let ref = try await client.submit(square, n)
        print("\(try await ref.load()) \(ref.wasCached ? "hit" : "miss") \(ref.commit.hex)")
    } catch {
        fail("\(error)")
    }
case "write-large":
    guard arguments.count == 5, let seed = Int(arguments[4]) else { fail("usage: write-large STORE LOGFILE SEED") }
    let log = arguments[3]
    let large = CachedFunction("large", version: "1") { (seed: Int, index: Int) -> [UInt8] in CrashPayload.bytes(seed: seed, index: index) }
    do {
        let client = Client(store: try LMDBStore(arguments[2]), serializer: RawBytesSerializer())
        var stored: [(Int, String)] = []
        for index in 0... {
            let ref = try await client.submit(large, seed, index)
            appendLine("stored \(index) \(ref.commit.hex)", to: log)
            stored.append((index, ref.commit.hex))
            if index % 4 == 3 {
                // Deletions too: a file unlinked when its last reference goes must never take a live result with it.
                let (victim, commit) = stored.removeFirst()
                // Logged first: a kill after rm commits but before "removed" is written must not
                // make the test expect a commit that is rightly gone.
                appendLine("removing \(victim) \(commit)", to: log)
                _ = try await client.rm(commit)
                appendLine("removed \(victim) \(commit)", to: log)
            }
        }
    } catch {
        fail("\(error)")
    }
default:
    fail("unknown command; use fingerprint, submit or write-large")
}

