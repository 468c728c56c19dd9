/// LMDB's on-disk format (liblmdb 0.9 on a 64-bit build: `mdb.c`'s `MDB_page`, `MDB_node`,
/// `MDB_db` and `MDB_meta`), read without LMDB, so that a damaged `data.mdb` can be checked and
/// salvaged by code that cannot fault on it. Every value here comes from the file: offsets and
/// lengths are checked against the page or the file before anything is read with them.
enum LMDBPageFormat {
    /// `PAGEHDRSZ`: page number (8), padding (2), flags (2), lower and upper bounds (2 + 2).
    static let pageHeaderSize = 16
    /// `NODESIZE`: data size or child page (4), flags (2), key size (2).
    static let nodeHeaderSize = 8
    /// `MDB_MAGIC` and `MDB_DATA_VERSION`.
    static let magic: UInt32 = 0xBEEF_C0DE
    static let dataVersion: UInt32 = 1
    /// `P_INVALID`: the root of an empty tree.
    static let noPage = UInt64.max

    /// Page flags (`mp_flags`).
    enum PageFlag {
        static let branch: UInt16 = 0x01, leaf: UInt16 = 0x02, overflow: UInt16 = 0x04, meta: UInt16 = 0x08
        static let leaf2: UInt16 = 0x20, subPage: UInt16 = 0x40
    }

    /// Leaf node flags (`mn_flags`).
    enum NodeFlag {
        /// The data is on overflow pages; the node holds their first page number.
        static let bigData: UInt16 = 0x01
        /// The data is an `MDB_db`: a named table (main tree) or a tree of duplicates.
        static let subData: UInt16 = 0x02
        /// The key has several values: a sub-page of them, or (with `subData`) a tree.
        static let dupData: UInt16 = 0x04
    }

    /// Tree flags (`md_flags`) that change how keys are ordered or stored.
    enum TreeFlag {
        static let dupSort: UInt16 = 0x04, integerKey: UInt16 = 0x08, dupFixed: UInt16 = 0x10
    }

    /// `MDB_db`: where a tree starts and what it holds (48 bytes).
    struct Tree: Equatable {
        static let size = 48
        var flags: UInt16
        var depth: Int
        var branchPages: UInt64
        var leafPages: UInt64
        var overflowPages: UInt64
        var entries: UInt64
        var root: UInt64

        init?(_ bytes: LittleEndianBytes, at offset: Int) {
            guard let flags = bytes.u16(offset + 4), let depth = bytes.u16(offset + 6),
                  let branch = bytes.u64(offset + 8), let leaf = bytes.u64(offset + 16), let overflow = bytes.u64(offset + 24),
                  let entries = bytes.u64(offset + 32), let root = bytes.u64(offset + 40) else { return nil }
            (self.flags, self.depth, branchPages, leafPages, overflowPages, self.entries, self.root) =
                (flags, Int(depth), branch, leaf, overflow, entries, root)
        }

        /// A tree with no pages.
        static let empty = Tree(flags: 0, depth: 0, branchPages: 0, leafPages: 0, overflowPages: 0, entries: 0, root: noPage)

        private init(flags: UInt16, depth: Int, branchPages: UInt64, leafPages: UInt64, overflowPages: UInt64, entries: UInt64, root: UInt64) {
            (self.flags, self.depth, self.branchPages, self.leafPages, self.overflowPages, self.entries, self.root) =
                (flags, depth, branchPages, leafPages, overflowPages, entries, root)
        }
    }

    /// `MDB_meta`, in page 0 or 1 after the page header: the two most recent snapshots.
    struct Meta {
        /// Which meta page (0 or 1).
        let page: Int
        let pageSize: Int
        let freeTree: Tree
        let mainTree: Tree
        let lastPage: UInt64
        let transaction: UInt64

        /// What a salvage walks when neither meta page is sound (a file whose first write never
        /// reached the disk): no tables, no free list, so every leaf page is one no tree reaches.
        static func none(pageSize: Int, pages: Int) -> Meta {
            Meta(page: 0, pageSize: pageSize, freeTree: .empty, mainTree: .empty, lastPage: UInt64(max(pages, 1) - 1), transaction: 0)
        }

        /// The meta record of page `page`, or nil with why not.
        static func read(_ bytes: LittleEndianBytes, page: Int) -> Result<Meta, MetaDamage> {
            let base = pageHeaderSize
            guard bytes.u32(base) == magic else { return .failure(.init("meta page \(page) has no LMDB magic number")) }
            guard bytes.u32(base + 4) == dataVersion else { return .failure(.init("meta page \(page) has an unknown format version")) }
            // The page size is kept in the free tree's padding (`mm_psize`).
            guard let pageSize = bytes.u32(base + 24).map(Int.init), (4096...65536).contains(pageSize), pageSize & (pageSize - 1) == 0,
                  let free = Tree(bytes, at: base + 24), let main = Tree(bytes, at: base + 24 + Tree.size),
                  let lastPage = bytes.u64(base + 24 + 2 * Tree.size), let transaction = bytes.u64(base + 32 + 2 * Tree.size) else {
                return .failure(.init("meta page \(page) is malformed"))
            }
            return .success(Meta(page: page, pageSize: pageSize, freeTree: free, mainTree: main, lastPage: lastPage, transaction: transaction))
        }
    }

    /// Why a meta page cannot be used.
    struct MetaDamage: Error {
        let detail: String
        init(_ detail: String) { self.detail = detail }
    }
}

/// Bytes read from a file, with little-endian integers that are nil when out of range (never a trap).
struct LittleEndianBytes {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    func u16(_ offset: Int) -> UInt16? { integer(offset, width: 2).map { UInt16($0) } }
    func u32(_ offset: Int) -> UInt32? { integer(offset, width: 4).map { UInt32($0) } }
    func u64(_ offset: Int) -> UInt64? { integer(offset, width: 8) }

    /// `length` bytes at `offset`, or nil when they are not all there.
    func slice(_ offset: Int, _ length: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, length >= 0, offset <= bytes.count - length else { return nil }
        return bytes[offset..<(offset + length)]
    }

    private func integer(_ offset: Int, width: Int) -> UInt64? {
        guard let slice = slice(offset, width) else { return nil }
        var value: UInt64 = 0
        for byte in slice.reversed() { value = value << 8 | UInt64(byte) }
        return value
    }
}
