/// Doubles: the same in every tagged version, so only the version tells them apart.
public func scale(_ x: Double) -> Double { x * 2 }
