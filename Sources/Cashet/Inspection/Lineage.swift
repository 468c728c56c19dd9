import Foundation

/// Where a commit came from: the earlier commits of its call, and the results it was computed from.
package struct Lineage: Sendable {
    /// The parent chain, newest first: the commit's parent, its parent, … (at most the depth asked).
    package var parents: [Commit]
    /// Whether the chain goes on beyond ``parents``.
    package var moreParents: Bool
    /// The results passed to the call as `ResultRef` arguments, in argument order.
    package var inputs: [ContentHash]
}

extension Commit {
    /// The results this commit's call took as `ResultRef` arguments, read from its argument
    /// snapshot (`ResultRef(<hash>)`), in order, without repeats.
    package var resultInputs: [ContentHash] {
        let marker = Array("ResultRef(".utf8)
        let text = Array(task.argumentsSnapshot.utf8)
        var found: [ContentHash] = []
        var index = 0
        while index + marker.count + 65 <= text.count {
            if text[index..<index + marker.count].elementsEqual(marker), text[index + marker.count + 64] == UInt8(ascii: ")"),
               let hash = try? ContentHash(hex: String(decoding: text[index + marker.count..<index + marker.count + 64], as: UTF8.self)) {
                if !found.contains(hash) { found.append(hash) }
                index += marker.count + 65
            } else {
                index += 1
            }
        }
        return found
    }
}

extension Client {
    /// `commit`'s lineage, following at most `depth` parents (one read each).
    package nonisolated(nonsending) func lineage(of commit: Commit, depth: Int = 10) async throws(CashetError) -> Lineage {
        var parents: [Commit] = []
        var next = commit.parent
        while let hash = next, parents.count < depth {
            guard let parent = try await store.commit(hash) else { break }   // removed by gc or rm
            parents.append(parent)
            next = parent.parent
        }
        return Lineage(parents: parents, moreParents: next != nil && parents.count == depth, inputs: commit.resultInputs)
    }
}
