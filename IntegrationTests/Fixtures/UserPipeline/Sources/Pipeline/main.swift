import CashetMacros
import Core
import LocalDep

@Cached func process(_ text: String) -> String { normalize(text) }
@Cached func scaled(_ x: Int) -> Int { x * Settings().doubled }
@Cached func factored(_ x: Int) -> Int { x + Settings().factor }
@Cached func measured(_ x: Double) -> Double { measure(x) + Double(offset()) }
@Cached(ignoringDependencies: ["numerics-lite", "local-dep"]) func plain(_ x: Int) -> Int { x + 1 }

// Pipeline STORE: submits each function once; prints "name identity-hash hit|miss commit".
let client = Client(store: try LMDBStore(CommandLine.arguments[1]))
func report<Value>(_ name: String, _ identity: FunctionIdentity, _ ref: ResultRef<Value>) {
    print("\(name) \(identity.hash.hex) \(ref.wasCached ? "hit" : "miss") \(ref.commit.hex)")
}
report("process", $process.identity, try await client.submit($process, " Hello"))
report("scaled", $scaled.identity, try await client.submit($scaled, 3))
report("factored", $factored.identity, try await client.submit($factored, 3))
report("measured", $measured.identity, try await client.submit($measured, 1.5))
report("plain", $plain.identity, try await client.submit($plain, 1))
await client.close()
