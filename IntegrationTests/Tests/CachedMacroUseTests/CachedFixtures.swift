import CashetMacros
import CashetTestSupport
import CashetTestSupport
import Foundation

// Functions cached with @Cached; CashetIdentityPlugin hashes this target, so editing a helper
// below changes the identity of the functions that reach it.

/// Counts executions of the fixtures (a `let` of a locked counter: not mutable global state).
let fixtureRuns = ExecutionCounter()

@Cached
func expensiveTransform(_ data: [Double], scale: Double) -> [Double] {
    fixtureRuns.tick()
    return data.map { $0 * scale * unitFactor() }
}

func unitFactor() -> Double { baseUnit() * 1 }

func baseUnit() -> Double { 1 }

enum Geometry {
    @Cached(version: "1", tags: ["kind": "geometry"])
    static func area(_ side: Int) -> Int { side * side }
}

struct Meter: CashetValue {
    var value: Double

    @Cached
    func scaled(by factor: Double) async throws -> Double { value * factor }
}

/// The same text is in CashetTestHelper: two targets, built separately, must agree.
@Cached
func sharedIdentityProbe(_ x: Int) -> Int { x * 3 + 1 }
