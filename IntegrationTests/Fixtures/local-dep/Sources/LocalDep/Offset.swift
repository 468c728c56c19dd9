/// A constant from a package referenced by path.
public func offset() -> Int { 1 }
