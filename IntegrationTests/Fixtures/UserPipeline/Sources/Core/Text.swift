import NumericsLite

/// Lower-cases and drops spaces: the helper `process` reaches in another target.
public func normalize(_ text: String) -> String {
    text.lowercased().filter { $0 != " " }
}

/// Reached by nothing cached.
public func unrelatedHelper() -> Int { 42 }

/// Scales through the Git dependency.
public func measure(_ x: Double) -> Double { scale(x) }
