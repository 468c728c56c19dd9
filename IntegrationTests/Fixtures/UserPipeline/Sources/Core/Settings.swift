/// Settings with a default and a computed property, which cached functions read.
public struct Settings: Sendable {
    public var factor = 2
    public init() {}
    public var doubled: Int { factor * 2 }
}
