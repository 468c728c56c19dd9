/// The exit statuses `cashet` documents (README, "CLI"); `cashet serve` puts the same number in
/// its JSON errors (`exit_status`).
package enum ExitStatus {
    /// No commit or blob matched (unknown or ambiguous hash), or `log` listed nothing.
    package static let notFound: Int32 = 1
    /// The command line is wrong: unknown option, missing or malformed argument.
    package static let usage: Int32 = 2
    /// The store holds damaged data (`fsck` found damage, or a load met it), or an archive to
    /// import is damaged.
    package static let damaged: Int32 = 3
    /// The store cannot be used: missing, not a store, newer schema, a storage error, or a
    /// PostgreSQL server that cannot be reached or refuses the login.
    package static let unusableStore: Int32 = 4

    package static func of(_ error: CashetError) -> Int32 {
        switch error.code {
        case .notFound, .ambiguousHash: notFound
        case .invalidHash, .invalidArgument: usage
        case .corruptData, .damagedArchive, .limitExceeded: damaged
        default: unusableStore
        }
    }
}
