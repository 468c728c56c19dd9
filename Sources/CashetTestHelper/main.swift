import Cashet
import CashetTestSupport
import Foundation

// A second process for the tests: prints fingerprints and runs cached calls against a store
// given on the command line, so tests can check behaviour across real process boundaries.
// STORE is a directory, a postgresql:// URL or tiered:LOCALDIR,URL (see StoreSpec.swift) for
// submit, overlap, hold and stream.
//
//   cashet-test-helper fingerprint            → canonical hashes of fixed dictionary/set/float args
//   cashet-test-helper submit STORE N LOGFILE → submits square(N); appends "ran N" to LOGFILE when it executes
//   cashet-test-helper write-large STORE LOGFILE SEED → stores large results until killed (crash tests);
//       appends "stored I COMMIT" after each submit returns, "removing I COMMIT" before each rm and
//       "removed I COMMIT" after it returns
//   cashet-test-helper overlap STORE LO HI LOGFILE map|submit → runs slow(x) for x in LO..<HI with `map`
//       (or one `submit` each); appends "ran X PID" to LOGFILE for every execution
//   cashet-test-helper hold STORE LOGFILE → submits sleeper(1), whose body appends "started PID" and
//       sleeps for an hour (killed by the test while it holds the call's lease)
//   cashet-test-helper fill STORE LIMIT STEP → under a file-size limit of LIMIT bytes (0: none), stores
//       incompressible results of STEP, 2×STEP, 3×STEP… bytes until a write fails; prints
//       "stored COMMIT SHA256" for each and then "error CODE: MESSAGE"
//   cashet-test-helper campaign STORE LOGFILE ARCHIVE SEED durable|normal|nosync → the crash campaign's workload
//       (CampaignWorkload), run until killed
//   cashet-test-helper writes STORE LOGFILE SEED STEPS → the campaign workload's submits, hits and map
//       batches only (no rm/gc/import), STEPS steps, then exit 0 (the power-loss campaign records it);
//       $CASHET_DURABILITY=durable|normal|nosync
//   cashet-test-helper crash-campaign DIR ROUNDS SEED → runs a crash campaign (CrashCampaign) in DIR and
//       prints one JSON summary; exit 1 when anything was lost, wrong or damaged
//   cashet-test-helper stream STORE LOGFILE COUNT → submits COUNT calls in turn; appends "acked I COMMIT HASH"
//       or "error I CODE: MESSAGE" for each (the PostgreSQL restart test)
//   cashet-test-helper make-v1-fixture STORE → writes the schema-1 fixture store (V1Fixture; see
//       scripts/make-v1-fixture.sh)
//   cashet-test-helper process-executor STORE → runs calls through a ProcessExecutor whose workers are
//       this program; prints "pid PARENT CHILD" and "crash CODE: MESSAGE"

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

/// Functions that worker processes of `process-executor` can run.
let workerPid = CachedFunction("worker-pid", version: "1") { (_: Int) -> Int32 in getpid() }
let workerCrash = CachedFunction("worker-crash", version: "1") { (_: Int) -> Int in abort() }
let workerLength = CachedFunction("worker-length", version: "1") { (bytes: [UInt8]) -> Int in bytes.count }
var workers = WorkerRegistry()
workers.register(workerPid)
workers.register(workerCrash)
workers.register(workerLength)
await workers.serveIfWorker()

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
        let client = try await openClient(arguments[2])
        let ref = try await client.submit(square, n)
        print("\(try await ref.load()) \(ref.wasCached ? "hit" : "miss") \(ref.commit.hex)")
        await client.close()
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
case "overlap":
    guard arguments.count == 7, let low = Int(arguments[3]), let high = Int(arguments[4]) else { fail("usage: overlap STORE LO HI LOGFILE map|submit") }
    let log = arguments[5]
    let slow = CachedFunction("slow", version: "1") { (x: Int) -> Int in
        appendLine("ran \(x) \(getpid())", to: log)
        try await Task.sleep(for: .milliseconds(2))
        return x * 3
    }
    do {
        let client = try await openClient(arguments[2])
        let inputs = Array(low..<high)
        let values: [Int]
        if arguments[6] == "map" {
            var loaded: [Int] = []
            for ref in try await client.map(slow, over: inputs, maxConcurrency: 16) { loaded.append(try await ref.load()) }
            values = loaded
        } else {
            values = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for x in inputs { group.addTask { (x, try await client.submit(slow, x).load()) } }
                var found = [Int: Int]()
                for try await (x, value) in group { found[x] = value }
                return inputs.map { found[$0]! }
            }
        }
        guard values == inputs.map({ $0 * 3 }) else { fail("wrong results") }
        await client.close()
        print("ok \(values.count)")
    } catch {
        fail("\(error)")
    }
case "hold":
    guard arguments.count == 4 else { fail("usage: hold STORE LOGFILE") }
    let log = arguments[3]
    let sleeper = CachedFunction("sleeper", version: "1") { (_: Int) -> Int in
        appendLine("started \(getpid())", to: log)
        try await Task.sleep(for: .seconds(3600))
        return 0
    }
    do {
        _ = try await openClient(arguments[2]).submit(sleeper, 1)
    } catch {
        fail("\(error)")
    }
case "fill":
    guard arguments.count == 5, let limit = rlim_t(arguments[3]), let step = Int(arguments[4]) else { fail("usage: fill STORE LIMIT STEP") }
    if limit > 0 {
        // Past the limit a write fails with EFBIG instead of the default SIGXFSZ killing the process.
        signal(SIGXFSZ, SIG_IGN)
        var bound = rlimit(rlim_cur: limit, rlim_max: limit)
        guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &bound) == 0 else { fail("setrlimit failed") }
    }
    let sized = CachedFunction("sized", version: "1") { (count: Int) -> [UInt8] in TestPayload.incompressible(count, seed: UInt64(count)) }
    do {
        let client = Client(store: try LMDBStore(arguments[2]), serializer: RawBytesSerializer())
        for round in 1... {
            do {
                let ref = try await client.submit(sized, round * step)
                print("stored \(ref.commit.hex) \(ref.hash.hex)")
            } catch {
                print("error \(error.code): \(error.message)")
                break
            }
        }
    } catch {
        fail("\(error)")
    }
case "campaign":
    guard arguments.count == 7, let seed = UInt64(arguments[5]), let durability = CampaignWorkload.durability(named: arguments[6]) else {
        fail("usage: campaign STORE LOGFILE ARCHIVE SEED durable|normal|nosync")
    }
    let workload = CampaignWorkload(storePath: arguments[2], log: arguments[3], archive: arguments[4], seed: seed, durability: durability)
    do { try await workload.run() } catch { fail("\(error)") }
case "writes":
    guard arguments.count == 6, let seed = UInt64(arguments[4]), let steps = Int(arguments[5]) else { fail("usage: writes STORE LOGFILE SEED STEPS") }
    let name = ProcessInfo.processInfo.environment["CASHET_DURABILITY"] ?? "durable"
    guard let durability = CampaignWorkload.durability(named: name) else { fail("CASHET_DURABILITY must be durable, normal or nosync, not \(name)") }
    var workload = CampaignWorkload(storePath: arguments[2], log: arguments[3], archive: "", seed: seed, durability: durability)
    workload.writesOnly = true
    workload.steps = steps
    do { try await workload.run() } catch { fail("\(error)") }
case "crash-campaign":
    guard arguments.count == 5, let rounds = Int(arguments[3]), let seed = UInt64(arguments[4]) else { fail("usage: crash-campaign DIR ROUNDS SEED") }
    let campaign = CrashCampaign(directory: arguments[2], rounds: rounds, seed: seed)
    do {
        let summary = try await campaign.run { summary in
            if summary.rounds % 25 == 0 || summary.rounds == rounds {
                FileHandle.standardError.write(Data("round \(summary.rounds)/\(rounds): \(summary.acknowledged) acknowledged, \(summary.verifiedLoads) loads verified, \(summary.failures.count) failures\n".utf8))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        exit(summary.failures.isEmpty ? 0 : 1)
    } catch {
        fail("\(error)")
    }
case "process-executor":
    guard arguments.count == 3 else { fail("usage: process-executor STORE") }
    do {
        let client = Client(store: try LMDBStore(arguments[2]), executor: ProcessExecutor())
        print("pid \(getpid()) \(try await client.submit(workerPid, 1).load())")
        do {
            _ = try await client.submit(workerCrash, 1)
            print("crash none")
        } catch {
            print("crash \(error.code): \(error.message)")
        }
        // A worker that exits without reading its request (here: a program that is no worker),
        // sent more than a pipe holds: the write meets EPIPE, which must not kill this process.
        let early = Client(store: client.store, executor: ProcessExecutor(executable: "/bin/true"))
        do {
            _ = try await early.submit(workerLength, Array(repeating: 7, count: 1 << 20))
            print("early-exit none")
        } catch {
            print("early-exit \(error.code): \(error.message)")
        }
    } catch {
        fail("\(error)")
    }
case "stream":
    guard arguments.count == 5, let count = Int(arguments[4]) else { fail("usage: stream STORE LOGFILE COUNT") }
    do { try await streamCalls(arguments[2], log: arguments[3], count: count) } catch { fail("\(error)") }
case "make-v1-fixture":
    guard arguments.count == 3 else { fail("usage: make-v1-fixture STORE") }
    do { try await V1Fixture.make(at: arguments[2]) } catch { fail("\(error)") }
default:
    fail("unknown command; use fingerprint, submit, write-large, overlap, hold, fill, campaign, crash-campaign, process-executor, stream or make-v1-fixture")
}

