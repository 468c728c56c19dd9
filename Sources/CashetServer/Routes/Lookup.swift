import Cashet

/// What a path's hash names. A prefix names commits only; a full 64-character hash may also
/// name a result. (Finding the commits of a result prefix reads every commit of an LMDB store:
/// a request must not be able to ask for that. A full hash that no result has is answered at
/// once.)
struct Lookup {
    let client: Client

    /// `text` in lowercase when it may name a commit or result: 1 to 64 hex digits (a path
    /// parameter or the search box), so `..`, slashes and encoded characters never reach the
    /// store; `.invalidHash` otherwise. (Fewer than 4 digits are refused by the prefix itself.)
    static func hash(_ text: some StringProtocol) throws(CashetError) -> String {
        guard !text.isEmpty, text.utf8.count <= 64, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0 | 0x20) }) else {
            throw CashetError(.invalidHash, "'\(text.prefix(80))' is not a hash prefix: use 4 to 64 hex characters")
        }
        return text.lowercased()
    }

    /// The commit named by `hash`, or, for a full result hash, the commits that produced it
    /// (newest first) with `isResult` set. Never empty.
    func commits(named hash: String) async throws(CashetError) -> (commits: [Commit], isResult: Bool) {
        let commits: [Commit]
        if hash.utf8.count == 64 {
            commits = try await client.commits(named: hash)
        } else {
            do throws(CashetError) {
                commits = [try await client.show(hash)]
            } catch where error.code == .notFound {
                throw CashetError(.notFound, error.message + " (a result is named by its full 64-character hash)")
            }
        }
        return (commits, !commits[0].hash.hex.hasPrefix(hash))
    }

    /// The commit named by `hash` (or the newest that produced the result it names) and its output.
    func output(named hash: String) async throws(CashetError) -> (commit: Commit, output: ObjectRef) {
        let commit = try await commits(named: hash).commits[0]
        return (commit, try commit.requiredOutput())
    }
}
