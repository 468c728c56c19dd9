// The @Cached macro, in its own module so that the runtime (`Cashet`) builds without
// swift-syntax: a release build of swift-syntax takes ~20 minutes on a 2-core machine.
@_exported import Cashet

/// Caches a function by its *code*: generates `$name`, a ``CachedFunction`` to pass to
/// `Client.submit`.
///
/// ```swift
/// @Cached
/// func expensiveTransform(_ data: [Double], scale: Double) -> [Double] { data.map { $0 * scale } }
///
/// let ref = try await client.submit($expensiveTransform, [1, 2, 3], 2.0)
/// ```
///
/// The identity is the SHA-256 of the function's normalized source (comments, doc comments
/// and whitespace ignored), of every declaration it reaches in its target and the targets of
/// the same package that target depends on (functions, initializers, properties, subscripts,
/// types and their members, found by name by the `CashetIdentityPlugin` build-tool plugin,
/// which the target must apply), of the version of every external package the target depends
/// on, and of `version`. Bump `version` when behaviour changes in ways the code does not show
/// (data files, the environment). Functions in a type give `static let $name`; instance
/// methods take the receiver as their first argument. The plugin warns at compile time when
/// the function (or what it reaches) reads a module-level or static `var`;
/// `allowMutableState: true` silences that on purpose. `ignoringDependencies:` names packages
/// (as SwiftPM names them, `"swift-log"`) whose version cannot change the result: upgrading
/// them then keeps the cached results. It must be an array literal of string literals naming
/// dependencies of the target, or the build fails.
@attached(peer, names: prefixed(`$`))
public macro Cached(name: String? = nil, version: String = "", tags: [String: String] = [:], cache: Bool = true, allowMutableState: Bool = false,
                    ignoringDependencies: [String] = []) =
    #externalMacro(module: "CashetMacroPlugin", type: "CachedMacro")

/// Not API: a compile-time check emitted by `@Cached` that an argument type is encodable.
@inlinable @inline(__always)
public func _requireCashetValue<T: CashetValue>(_ type: T.Type) {}

/// Not API: a compile-time check emitted by `@Cached` that a result type is storable.
@inlinable @inline(__always)
public func _requireCashetResult<T: Codable & Sendable>(_ type: T.Type) {}
