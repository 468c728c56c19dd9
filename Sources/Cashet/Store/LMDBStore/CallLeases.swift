import Foundation
import Synchronization

/// Leases on running calls, shared by every process that opens the store: one byte per
/// fingerprint in one of the 64 files of `leases/`, locked with an open-file-description lock.
///
/// The kernel drops a dead process's locks at once, so a crashed holder never blocks others
/// and nothing is written per lease (no fsync, no expiry to tune). The lock belongs to this
/// store's open file, which every task of the process shares, so a set of held offsets gives
/// the exclusion between tasks; waiters in this process are woken when a lease is released.
/// Fingerprints map to 62-bit offsets: two different calls share a byte with probability
/// ~2^-62 per pair, and then merely run one after the other. The kernel checks a lock against
/// every lock held on the same file, so the bytes are spread over 64 files: a `map` holding a
/// thousand leases until its group commit made each lock ~10× slower in one file.
final class CallLeases: Sendable {
    /// One lock file (a class, so the files can sit in an array).
    private final class LockFile: Sendable {
        let file: PosixFile
        init(_ file: consuming PosixFile) { self.file = file }
    }

    static let fileCount = 64
    /// The lock files, each opened on first use: most processes touch few of them, and an open
    /// one is a descriptor (64 per store ran test processes into Foundation's `Process` bug with
    /// long /proc/self/fd listings).
    private let files = Locked<[LockFile?]>(Array(repeating: nil, count: CallLeases.fileCount))
    private let root: StoreRoot
    private let permissions: StorePermissions
    private let held = Locked<Set<Int64>>([])
    private let waiters = Locked<(next: UInt64, byOffset: [Int64: [Waiter]])>((0, [:]))

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    static let directoryName = "leases"

    /// Uses the directory `leases/` of the store for the lock files, which are created (with the
    /// directory) with `permissions` as they are first needed, never through a link: a damaged
    /// `leases/` fails the calls that need a lease, not the opening of the store (so `fsck` can
    /// report and repair it).
    init(root: StoreRoot, permissions: StorePermissions) {
        self.root = root
        self.permissions = permissions
    }

    /// The file holding `offset`'s byte (chosen by bits the offset within a file does not use),
    /// opened (and created) when first needed.
    private func lockFile(for offset: Int64) throws(CashetError) -> LockFile {
        let index = Int(offset >> 56) % Self.fileCount
        return try files.withLock { files throws(CashetError) -> LockFile in
            if let file = files[index] { return file }
            guard let directory = try root.handle.directory(Self.directoryName, createWithMode: permissions.directoryMode),
                  let opened = try directory.openFile("\(index)", flags: O_RDWR | O_CREAT, mode: permissions.fileMode) else {
                throw CashetError(.storage, "cannot open the lease files in \(root.path)/\(Self.directoryName)")
            }
            let file = LockFile(opened)
            files[index] = file
            return file
        }
    }

    /// The byte that stands for `fingerprint`.
    static func offset(of fingerprint: Fingerprint) -> Int64 {
        let bytes = fingerprint.bytes
        let word = bytes[32..<40].bigEndianInteger(UInt64.self) ^ bytes[0..<8].bigEndianInteger(UInt64.self)
        return Int64(word & (1 << 62 - 1))
    }

    /// Takes the lease of `fingerprint`, or nil while a task of this or another process holds it.
    func tryAcquire(_ fingerprint: Fingerprint) throws(CashetError) -> Lease? {
        let offset = Self.offset(of: fingerprint)
        guard held.withLock({ $0.insert(offset).inserted }) else { return nil }
        do {
            if try lockFile(for: offset).file.tryLockByte(at: offset) { return Lease(leases: self, offset: offset) }
        } catch {
            held.withLock { _ = $0.remove(offset) }
            throw error
        }
        held.withLock { _ = $0.remove(offset) }
        return nil
    }

    /// Waits until a lease of this process on `fingerprint` is released, or `limit` passes
    /// (a lease held by another process gives no signal: callers poll).
    func waitForRelease(of fingerprint: Fingerprint, atMost limit: Duration) async {
        let offset = Self.offset(of: fingerprint)
        guard held.withLock({ $0.contains(offset) }) else {
            try? await Task.sleep(for: limit)
            return
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Registered only while the lease is held (checked under the waiters lock, which
            // `release` takes after giving the lease up); each continuation is resumed by whoever
            // removes it: `release`, the timer, or this function when the lease is already gone.
            let id = waiters.withLock { waiters -> UInt64? in
                guard held.withLock({ $0.contains(offset) }) else { return nil }
                waiters.next += 1
                waiters.byOffset[offset, default: []].append(Waiter(id: waiters.next, continuation: continuation))
                return waiters.next
            }
            guard let id else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: limit)
                self.wake(offset, id)
            }
        }
    }

    private func wake(_ offset: Int64, _ id: UInt64) {
        let waiter = waiters.withLock { waiters -> Waiter? in
            guard let index = waiters.byOffset[offset]?.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.byOffset[offset]?.remove(at: index)
        }
        waiter?.continuation.resume()
    }

    fileprivate func release(_ offset: Int64) {
        // Open already: the lease was taken through it.
        (try? lockFile(for: offset))?.file.unlockByte(at: offset)
        held.withLock { _ = $0.remove(offset) }
        let woken = waiters.withLock { $0.byOffset.removeValue(forKey: offset) ?? [] }
        for waiter in woken { waiter.continuation.resume() }
    }

    /// One held lease; releasing it twice releases once.
    final class Lease: CallLease {
        let leases: CallLeases
        let offset: Int64
        private let released = Atomic<Bool>(false)

        init(leases: CallLeases, offset: Int64) {
            self.leases = leases
            self.offset = offset
        }

        func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { leases.release(offset) }
        }

        // A lease nobody holds any more is released, whatever path dropped it.
        deinit { release() }
    }
}
