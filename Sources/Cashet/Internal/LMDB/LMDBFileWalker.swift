/// Walks the B-trees of a `data.mdb` through `pread`, never through LMDB or a memory map, so a
/// damaged file gives a list of problems instead of an assertion or a SIGBUS.
///
/// It checks what LMDB relies on without checking: every page a tree reaches lies inside the
/// file, carries its own number and the type its level calls for, is reached once, and is not
/// on the free list; every node lies inside its page; keys are in order within and across pages;
/// the entry and page counts agree with the tree's record. A page that fails is skipped (its
/// subtree with it) and the walk goes on, so the same walk serves a check (are there problems?)
/// and a salvage (every record still reachable through sound pages).
final class LMDBFileWalker {
    typealias Format = LMDBPageFormat

    /// One thing wrong with the file.
    struct Problem: Sendable {
        /// The table (or "main", "free list", "meta") it was found in.
        let tree: String
        let detail: String
    }

    let path: String
    private let file: PosixFile
    let pageSize: Int
    /// Pages the file holds (its size in pages): every page number is checked against it.
    let pagesInFile: Int
    /// The snapshot walked.
    let meta: Format.Meta
    /// The other sound snapshot (the one before), if any: a salvage takes the tables the newest
    /// cannot give from it (LMDB leaves its pages alone until the next write after the newest).
    private let previousMeta: Format.Meta?
    /// Salvaging: a key out of place is reported but its node still read (its record is checked
    /// by its reader), and tables are looked for in the previous snapshot too.
    let salvaging: Bool
    private(set) var problems: [Problem] = []
    /// Problems beyond the first ``problemLimit`` are counted, not kept.
    private(set) var problemsNotKept = 0
    static let problemLimit = 200
    /// Pages reached: by any walk (a check), or by the current table's walk (a salvage, where a
    /// page two tables point to is read for each, as LMDB would).
    private var reached: PageSet
    /// Pages reached by any walk (what ``unreachedLeafRecords(_:)`` passes by).
    private var reachedAny: PageSet
    private var free: PageSet
    /// Free pages past the end of the file (never written: see ``missingPagesAreFree``).
    private var freeBeyondFile: Set<UInt64> = []

    /// Reads the meta pages of `file` and picks the snapshot to walk: the one of transaction
    /// `transaction` (a snapshot a read transaction pins), or else the newest sound one.
    init(file: consuming PosixFile, transaction: UInt64? = nil, salvaging: Bool = false) throws(CashetError) {
        path = file.path
        guard let size = try file.regularFileSize() else { throw CashetError(.corruptData, "\(file.path) is not a regular file") }
        let first = LittleEndianBytes(try file.readBytes(at: 0, count: min(size, 4096)))
        var metas: [Format.Meta] = []
        var damage: [String] = []
        switch Format.Meta.read(first, page: 0) {
        case .success(let meta): metas.append(meta)
        case .failure(let why): damage.append(why.detail)
        }
        // Meta page 1 sits one page in: the page size comes from page 0, or is the usual 4 KiB.
        let metaPageSize = metas.first?.pageSize ?? 4096
        switch Format.Meta.read(LittleEndianBytes(try file.readBytes(at: metaPageSize, count: min(max(size - metaPageSize, 0), 4096))), page: 1) {
        case .success(let meta) where meta.pageSize == metaPageSize: metas.append(meta)
        case .success: damage.append("meta page 1 gives another page size than meta page 0")
        case .failure(let why): damage.append(why.detail)
        }
        var chosen = transaction.flatMap { id in metas.first { $0.transaction == id } } ?? metas.max { $0.transaction < $1.transaction }
        if chosen == nil && salvaging {
            // Neither snapshot is readable: its records are still on the pages, found by a scan.
            let guessed = try Self.pageSizeByNumbers(of: file, size: size)
            chosen = .none(pageSize: guessed, pages: size / guessed)
        }
        guard let chosen else {
            throw CashetError(.corruptData, "\(file.path) is damaged: \(damage.joined(separator: "; ")); `cashet fsck --repair --rebuild` salvages the records its pages still hold")
        }
        pageSize = chosen.pageSize
        pagesInFile = size / chosen.pageSize
        meta = chosen
        previousMeta = metas.first { $0.page != chosen.page }
        self.salvaging = salvaging
        // At least the two meta pages, however short the file (they are marked reached below).
        reached = PageSet(count: max(pagesInFile, 2))
        reachedAny = PageSet(count: max(pagesInFile, 2))
        free = PageSet(count: max(pagesInFile, 2))
        self.file = file
        for detail in damage { note("meta", detail) }
        reached.insert(0)
        reached.insert(1)
    }

    /// The page size under which the most of the file's first pages carry their own number
    /// (LMDB's is the system's, 4 KiB here; the meta pages that record it are gone).
    private static func pageSizeByNumbers(of file: borrowing PosixFile, size: Int) throws(CashetError) -> Int {
        var best = (pageSize: 4096, matches: 0)
        for pageSize in [4096, 8192, 16384, 32768, 65536] {
            var matches = 0
            for page in 2..<max(2, min(size / pageSize, 66)) where try LittleEndianBytes(file.readBytes(at: page * pageSize, count: 8)).u64(0) == UInt64(page) {
                matches += 1
            }
            if matches > best.matches { best = (pageSize, matches) }
        }
        return best.pageSize
    }

    // MARK: The walk

    /// Walks the free list, then every named table, checking all of it; returns the named tables.
    @discardableResult
    func checkAll() throws(CashetError) -> [String: Format.Tree] {
        walkFreeList()
        if !missingPagesAreFree {
            note("meta", "the newest snapshot uses \(meta.lastPage + 1) pages, but the file holds \(pagesInFile) and the pages it lacks are not all free")
        }
        let tables = namedTables()
        for (name, tree) in tables.sorted(by: { $0.key < $1.key }) {
            try walk(tree, name: name, reading: false) { _, _ in }
        }
        return tables
    }

    /// The named tables listed in the main tree (each node holds an `MDB_db`); when salvaging,
    /// those of `expected` it lacks are taken from the previous snapshot's main tree.
    func namedTables(expected: [String] = []) -> [String: Format.Tree] {
        var tables = namedTables(of: meta)
        if salvaging, let previousMeta, expected.contains(where: { tables[$0] == nil }) {
            for (name, tree) in namedTables(of: previousMeta) where tables[name] == nil { tables[name] = tree }
        }
        return tables
    }

    private func namedTables(of meta: Format.Meta) -> [String: Format.Tree] {
        var tables: [String: Format.Tree] = [:]
        // The main tree holds no overflow data, so this walk reads nothing but its own pages.
        try? walk(meta.mainTree, name: "main", reading: false) { key, value in
            guard let name = String(validating: key, as: UTF8.self), let tree = Format.Tree(LittleEndianBytes(value), at: 0) else {
                self.note("main", "a table's record is malformed")
                return
            }
            tables[name] = tree
        }
        return tables
    }

    /// Calls `visit` with every (key, value) reachable through sound pages of `tree`, in key
    /// order; `reading` fetches values kept on overflow pages (otherwise they are checked and
    /// passed as empty). A tree of duplicates gives each of a key's values in turn.
    func walk(_ tree: Format.Tree, name: String, reading: Bool, _ visit: (_ key: [UInt8], _ value: [UInt8]) throws(CashetError) -> Void) throws(CashetError) {
        if salvaging { reached = PageSet(count: max(pagesInFile, 2)) }   // per table (see `reached`)
        var counts = Counts(), values = Counts()
        let order = KeyOrder(tree.flags)
        try walkTree(tree.root, depth: tree.depth, name: name, order: order, counts: &counts) { key, node, page throws(CashetError) in
            try self.leafNode(node, key: key, in: page, tree: tree, name: name, reading: reading, counts: &values, visit)
        }
        counts.entries = values.entries
        counts.overflowPages = values.overflowPages
        counts.complete = counts.complete && values.complete
        if counts.complete {
            if counts.entries != tree.entries {
                note(name, "the tree records \(tree.entries) entries, but holds \(counts.entries)")
            }
            if tree.flags & Format.TreeFlag.dupSort == 0,
               (counts.branchPages, counts.leafPages, counts.overflowPages) != (tree.branchPages, tree.leafPages, tree.overflowPages) {
                note(name, "the tree records \(tree.branchPages)/\(tree.leafPages)/\(tree.overflowPages) branch/leaf/overflow pages, but has \(counts.branchPages)/\(counts.leafPages)/\(counts.overflowPages)")
            }
        }
    }

    /// Whether the file holds every page of the newest snapshot but free ones (known once
    /// ``walkFreeList()`` ran). LMDB does not write a page it allocated and freed in the same
    /// transaction (overflow pages of a value replaced or deleted again, a page split then
    /// merged), so a healthy file can end before the snapshot's last page; only a page still in
    /// use past the end is damage (a power cut with noSync, a truncated copy).
    var missingPagesAreFree: Bool {
        // `freeBeyondFile` holds distinct pages of that range only: all are there when it is full.
        meta.lastPage < UInt64(pagesInFile) || UInt64(freeBeyondFile.count) == meta.lastPage - UInt64(pagesInFile) + 1
    }

    /// Records the free list's pages (to find pages both free and in use) and checks its tree.
    /// A salvage calls it first, so that ``unreachedLeafRecords(_:)`` passes free pages by.
    func walkFreeList() {
        let free = meta.freeTree
        try? walk(free, name: "free list", reading: true) { _, value in
            // An ID list: a count, then that many page numbers.
            let list = LittleEndianBytes(value)
            guard let count = list.u64(0), count <= UInt64(list.count / 8 - 1) else {
                self.note("free list", "a list of free pages is malformed")
                return
            }
            for index in 0..<Int(count) {
                guard let page = list.u64(8 + 8 * index), page <= self.meta.lastPage else {
                    self.note("free list", "a free page number lies outside the snapshot")
                    continue
                }
                guard page < UInt64(self.pagesInFile) else {
                    self.freeBeyondFile.insert(page)
                    continue
                }
                if self.reached.contains(Int(page)) || !self.free.insert(Int(page)) {
                    self.note("free list", "page \(page) is listed as free but is in use, or listed twice")
                }
            }
        }
    }

    private struct Counts {
        var entries: UInt64 = 0, branchPages: UInt64 = 0, leafPages: UInt64 = 0, overflowPages: UInt64 = 0
        /// False once a page was skipped: the counts then say nothing.
        var complete = true
    }

    /// How a tree orders its keys.
    private enum KeyOrder {
        case bytes, integers

        init(_ flags: UInt16) { self = flags & Format.TreeFlag.integerKey != 0 ? .integers : .bytes }

        /// `mdb_cmp_memn`: the first differing byte decides, else the shorter key comes first
        /// (a concrete loop: the generic `lexicographicallyPrecedes` dominated fsck's time).
        static func bytesPrecede(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
            var i = a.startIndex, j = b.startIndex
            while i < a.endIndex && j < b.endIndex {
                if a[i] != b[j] { return a[i] < b[j] }
                i += 1
                j += 1
            }
            return a.count < b.count
        }

        /// LMDB's `mdb_cmp_memn` (bytes, then length) or `mdb_cmp_long` (native 64-bit integers).
        func precedes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
            switch self {
            case .bytes: return Self.bytesPrecede(a, b)
            case .integers:
                guard a.count == 8, b.count == 8 else { return a.count < b.count }
                return LittleEndianBytes(Array(a)).u64(0)! < LittleEndianBytes(Array(b)).u64(0)!
            }
        }
    }

    /// The bounds a page's keys must lie in: at or above `low`, below `high`.
    private struct KeyRange {
        var low: [UInt8]?, high: [UInt8]?
    }

    /// Depth-first over the pages of one tree. Each leaf node goes to `leaf`; a page that fails
    /// a check is reported and skipped.
    private func walkTree(_ root: UInt64, depth: Int, trustDepth: Bool = true, name: String, order: KeyOrder, counts: inout Counts,
                          leaf: (ArraySlice<UInt8>, _ node: Int, _ page: LittleEndianBytes) throws(CashetError) -> Void) throws(CashetError) {
        guard root != Format.noPage else {
            if depth != 0 { note(name, "an empty tree records a depth of \(depth)") }
            return
        }
        guard (1...32).contains(depth) else {
            note(name, "the tree records an impossible depth of \(depth)")
            counts.complete = false
            // A salvage goes by the pages' own types: the depth only names what each level expects.
            if salvaging { try walkTree(root, depth: 32, trustDepth: false, name: name, order: order, counts: &counts, leaf: leaf) }
            return
        }
        var stack: [(page: UInt64, level: Int, range: KeyRange)] = [(root, 1, KeyRange())]
        while let (number, level, range) = stack.popLast() {
            guard let page = try readPage(number, name: name) else {
                counts.complete = false
                continue
            }
            var expected = level == depth ? Format.PageFlag.leaf : Format.PageFlag.branch
            let own = page.flags & (Format.PageFlag.branch | Format.PageFlag.leaf | Format.PageFlag.overflow | Format.PageFlag.meta | Format.PageFlag.leaf2)
            if own != expected {
                note(name, "page \(number) is a \(Self.describe(page.flags)) page where level \(level) of \(depth) needs a \(level == depth ? "leaf" : "branch")")
                counts.complete = false
                // A salvage reads it still. LMDB goes by a page's flags, and a torn write can leave a
                // tree's recorded depth newer than its pages: so as its flags say when its nodes fit
                // that type (or the depth is known to be damaged), else as its level calls for (a
                // flipped flag).
                guard salvaging, own == Format.PageFlag.branch || own == Format.PageFlag.leaf, level < 64 else { continue }
                if !trustDepth || nodeOffsets(page, number: number, name: name, branch: own == Format.PageFlag.branch)?.sound == true {
                    expected = own
                }
            }
            guard let (nodes, sound) = nodeOffsets(page, number: number, name: name, branch: expected == Format.PageFlag.branch) else {
                counts.complete = false
                continue
            }
            if !sound { counts.complete = false }
            var previous: ArraySlice<UInt8>?
            var children: [(UInt64, KeyRange)] = []
            var keys: [ArraySlice<UInt8>] = []
            for (index, node) in nodes.enumerated() {
                let key = page.bytes.slice(node + Format.nodeHeaderSize, Int(page.bytes.u16(node + 6)!))!
                // A branch page's first key is empty: its child holds everything below the second.
                let checked = expected == Format.PageFlag.leaf || index > 0
                if checked {
                    // A key out of place (a damaged key or key size) is reported and its node
                    // skipped; the page's other nodes are reached through pointers of their own.
                    let misplaced = if let previous, !order.precedes(previous, key) { "out of order" }
                        else if let low = range.low, order.precedes(key, low[...]) { "below the range its parent gives the page" }
                        else if let high = range.high, !order.precedes(key, high[...]) { "above the range its parent gives the page" }
                        else { String?.none }
                    if let misplaced {
                        note(name, "page \(number) has a key \(misplaced)")
                        counts.complete = false
                        if !salvaging { continue }
                    }
                    previous = key
                }
                keys.append(key)
                if expected == Format.PageFlag.branch {
                    let child = UInt64(page.bytes.u16(node)!) | UInt64(page.bytes.u16(node + 2)!) << 16 | UInt64(page.bytes.u16(node + 4)!) << 32
                    children.append((child, KeyRange(low: index == 0 ? range.low : Array(key), high: nil)))
                } else {
                    try leaf(key, node, page.bytes)
                }
            }
            if expected == Format.PageFlag.branch {
                counts.branchPages += 1
                for index in children.indices { children[index].1.high = index + 1 < keys.count ? Array(keys[index + 1]) : range.high }
                // Reversed, so the stack yields them in key order.
                for (child, childRange) in children.reversed() { stack.append((child, level + 1, childRange)) }
            } else {
                counts.leafPages += 1
            }
        }
    }

    /// One leaf node of `tree`: its value (inline, on overflow pages, or a set of duplicates).
    private func leafNode(_ offset: Int, key: ArraySlice<UInt8>, in page: LittleEndianBytes, tree: Format.Tree, name: String, reading: Bool,
                          counts: inout Counts, _ visit: (_ key: [UInt8], _ value: [UInt8]) throws(CashetError) -> Void) throws(CashetError) {
        let node = LeafNode(offset, in: page)
        let flags = node.flags
        if let first = node.overflowPage {
            guard let value = try overflow(first, size: node.size, name: name, reading: reading, counts: &counts) else {
                counts.complete = false
                return
            }
            counts.entries += 1
            try visit(Array(key), value)
            return
        }
        guard let data = node.inlineValue else {
            note(name, "a node's data runs past the end of its page")
            counts.complete = false
            return
        }
        guard flags & Format.NodeFlag.dupData != 0 else {
            counts.entries += 1
            try visit(Array(key), Array(data))
            return
        }
        guard tree.flags & Format.TreeFlag.dupSort != 0 else {
            note(name, "a node marked as holding duplicates, in a table without them")
            counts.complete = false
            return
        }
        let values: [ArraySlice<UInt8>]?
        if flags & Format.NodeFlag.subData != 0 {
            values = try duplicatesTree(LittleEndianBytes(Array(data)), name: name)
        } else {
            values = duplicatesPage(LittleEndianBytes(Array(data)), name: name)
        }
        guard let values else {
            counts.complete = false
            return
        }
        counts.entries += UInt64(values.count)
        for value in values { try visit(Array(key), Array(value)) }
    }

    /// The values of a key kept in a sub-page (`P_SUBP`): a small leaf page inside the node.
    private func duplicatesPage(_ subPage: LittleEndianBytes, name: String) -> [ArraySlice<UInt8>]? {
        guard let flags = subPage.u16(10), flags & Format.PageFlag.subPage != 0, flags & Format.PageFlag.leaf != 0,
              flags & Format.PageFlag.leaf2 == 0,
              let (nodes, sound) = nodeOffsets(Page(bytes: subPage, flags: flags), number: nil, name: name, branch: false), sound else {
            note(name, "a key's page of duplicates is malformed")
            return nil
        }
        var values: [ArraySlice<UInt8>] = []
        for node in nodes {
            let value = subPage.slice(node + Format.nodeHeaderSize, Int(subPage.u16(node + 6)!))!
            if let last = values.last, !KeyOrder.bytesPrecede(last, value) {
                note(name, "a key's duplicates are out of order")
                return nil
            }
            values.append(value)
        }
        return values
    }

    /// The values of a key kept in a tree of their own (an `MDB_db` in the node).
    private func duplicatesTree(_ record: LittleEndianBytes, name: String) throws(CashetError) -> [ArraySlice<UInt8>]? {
        guard let tree = Format.Tree(record, at: 0) else {
            note(name, "a key's tree of duplicates has a malformed record")
            return nil
        }
        var values: [ArraySlice<UInt8>] = []
        var counts = Counts()
        try walkTree(tree.root, depth: tree.depth, name: name, order: .bytes, counts: &counts) { key, _, _ in
            values.append(key)
        }
        guard counts.complete else { return nil }
        if UInt64(values.count) != tree.entries {
            note(name, "a key's tree of duplicates records \(tree.entries) values, but holds \(values.count)")
        }
        return values
    }

    // MARK: Pages

    private struct Page {
        let bytes: LittleEndianBytes
        let flags: UInt16
    }

    /// Page `number`, read once per walk; nil (reported) when it is outside the file, reached
    /// before, on the free list, or does not carry its own number.
    private func readPage(_ number: UInt64, name: String) throws(CashetError) -> Page? {
        guard number >= 2, number < UInt64(pagesInFile) else {
            note(name, "a pointer to page \(number), outside the file's \(pagesInFile) pages")
            return nil
        }
        let index = Int(number)
        guard !free.contains(index) || salvaging else {
            note(name, "page \(number) is in use but listed as free")
            return nil
        }
        reachedAny.insert(index)
        guard reached.insert(index) else {
            note(name, "page \(number) is reached twice")
            return nil
        }
        let bytes = LittleEndianBytes(try file.readBytes(at: index * pageSize, count: pageSize))
        guard bytes.count == pageSize, let flags = bytes.u16(10) else {
            note(name, "page \(number) lies past the end of the file")
            return nil
        }
        if bytes.u64(0) != number {
            note(name, "page \(number) does not carry its own page number (overwritten, or a wrong pointer)")
            // LMDB reads it regardless; a salvage does too (what it yields is checked by its reader).
            if !salvaging { return nil }
        }
        return Page(bytes: bytes, flags: flags)
    }

    /// Calls `visit` with the plain records (no tables, no duplicates) of every leaf page that no
    /// walk reached and the free list does not name: what a damaged branch page, a lost root or
    /// the cut-off end of the file left without a path to it. A page from an older snapshot
    /// looks the same, so the caller keeps only records that prove themselves (a hash).
    func unreachedLeafRecords(_ visit: (_ key: [UInt8], _ value: [UInt8]) throws(CashetError) -> Void) throws(CashetError) {
        for index in 2..<max(pagesInFile, 2) where !reachedAny.contains(index) && !free.contains(index) {
            let bytes = LittleEndianBytes(try file.readBytes(at: index * pageSize, count: pageSize))
            guard bytes.count == pageSize, let flags = bytes.u16(10),
                  flags & ~(Format.PageFlag.subPage | 0x10) == Format.PageFlag.leaf,   // 0x10: P_DIRTY, never on disk but harmless
                  let (nodes, _) = nodeOffsets(Page(bytes: bytes, flags: flags), number: UInt64(index), name: "unreached", branch: false) else { continue }
            for offset in nodes {
                let node = LeafNode(offset, in: bytes)
                guard node.flags & (Format.NodeFlag.subData | Format.NodeFlag.dupData) == 0 else { continue }
                if let first = node.overflowPage {
                    guard let value = try detachedOverflow(first, size: node.size) else { continue }
                    try visit(Array(node.key), value)
                } else if let value = node.inlineValue {
                    try visit(Array(node.key), Array(value))
                }
            }
        }
    }

    /// A value on overflow pages that no walk reached, checked like any other.
    private func detachedOverflow(_ first: UInt64, size: Int) throws(CashetError) -> [UInt8]? {
        guard first >= 2, first < UInt64(pagesInFile),
              overflowRun(LittleEndianBytes(try file.readBytes(at: Int(first) * pageSize, count: Format.pageHeaderSize)), first: first, size: size) != nil
        else { return nil }
        return try file.readBytes(at: Int(first) * pageSize + Format.pageHeaderSize, count: size)
    }

    /// How many pages the overflow run at `first` spans, when `header` (its first page's) is an
    /// overflow page's, long enough for `size` bytes, and the run ends inside the file.
    private func overflowRun(_ header: LittleEndianBytes, first: UInt64, size: Int) -> Int? {
        guard let flags = header.u16(10), flags & Format.PageFlag.overflow != 0, let pages = header.u32(12).map(Int.init),
              pages >= overflowPagesNeeded(size), Int(first) + pages <= pagesInFile else { return nil }
        return pages
    }

    /// How many pages an overflow run needs for a value of `size` bytes (after its page header).
    private func overflowPagesNeeded(_ size: Int) -> Int { (Format.pageHeaderSize + size + pageSize - 1) / pageSize }

    /// A leaf node's header, read from a page whose node offsets were checked (``nodeOffsets``:
    /// the header and key lie inside the page, so the reads below cannot fail).
    private struct LeafNode {
        let flags: UInt16
        let key: ArraySlice<UInt8>
        /// The value's size, inline or on overflow pages.
        let size: Int
        private let page: LittleEndianBytes
        private let dataOffset: Int

        init(_ offset: Int, in page: LittleEndianBytes) {
            self.page = page
            flags = page.u16(offset + 4)!
            key = page.slice(offset + Format.nodeHeaderSize, Int(page.u16(offset + 6)!))!
            size = Int(page.u16(offset)!) | Int(page.u16(offset + 2)!) << 16
            dataOffset = offset + Format.nodeHeaderSize + key.count
        }

        /// The first overflow page of a value kept there (`F_BIGDATA`), else nil.
        var overflowPage: UInt64? { flags & Format.NodeFlag.bigData != 0 ? page.u64(dataOffset) : nil }
        /// The value kept in the node, or nil when it is on overflow pages or runs past the page.
        var inlineValue: ArraySlice<UInt8>? { flags & Format.NodeFlag.bigData != 0 ? nil : page.slice(dataOffset, size) }
    }

    /// The offsets of a page's nodes that lie inside the page with their key (and, in a leaf,
    /// their data or overflow pointer), and whether all did (the others are reported and left
    /// out); nil (reported) when the page's own bounds are impossible.
    private func nodeOffsets(_ page: Page, number: UInt64?, name: String, branch: Bool) -> (offsets: [Int], sound: Bool)? {
        let bytes = page.bytes
        let end = number == nil ? bytes.count : pageSize
        let at = number.map { "page \($0)" } ?? "a page of duplicates"
        guard let lower = bytes.u16(12).map(Int.init), var upper = bytes.u16(14).map(Int.init),
              lower >= Format.pageHeaderSize, lower & 1 == 0, lower <= end else {
            note(name, "\(at) has impossible bounds")
            return nil
        }
        if lower > upper || upper > end {
            note(name, "\(at) has impossible bounds")
            // LMDB reads a page's nodes through their pointers, whatever `upper` says: so does a salvage.
            guard salvaging else { return nil }
            upper = lower
        }
        let count = (lower - Format.pageHeaderSize) / 2
        guard count > 0 || number == nil else {
            note(name, "\(at) holds no nodes")
            return nil
        }
        var offsets: [Int] = []
        var extents: [(start: Int, end: Int)] = []
        offsets.reserveCapacity(count)
        for index in 0..<count {
            let offset = Int(bytes.u16(Format.pageHeaderSize + 2 * index)!)
            guard offset >= upper, offset & 1 == 0, let keySize = bytes.u16(offset + 6).map(Int.init) else {
                note(name, "\(at) has a node outside its node area")
                continue
            }
            var length = Format.nodeHeaderSize + keySize
            if !branch {
                let flags = bytes.u16(offset + 4)!
                length += flags & Format.NodeFlag.bigData != 0 ? 8 : Int(bytes.u16(offset)!) | Int(bytes.u16(offset + 2)!) << 16
            }
            guard offset + length <= end else {
                note(name, "\(at) has a node that runs past the end of the page")
                continue
            }
            offsets.append(offset)
            extents.append((offset, offset + (length + 1) & ~1))
        }
        // LMDB keeps a page's nodes packed from `upper` to the end (adding and deleting shift
        // them), each an even number of bytes: an overlap or a gap means a size was altered,
        // and LMDB would write past the node it changes.
        extents.sort { $0.start < $1.start }
        let tiled = offsets.count == count && extents.first.map { $0.start == upper } != false
            && zip(extents, extents.dropFirst()).allSatisfy { $0.end == $1.start } && (extents.last?.end ?? upper) == end
        if !tiled && offsets.count == count {
            note(name, "\(at) has nodes that overlap or leave gaps (a node's recorded size was altered)")
            return (offsets, false)
        }
        return (offsets, offsets.count == count)
    }

    /// A value of `size` bytes on the overflow pages starting at `first` (empty unless `reading`).
    private func overflow(_ first: UInt64, size: Int, name: String, reading: Bool, counts: inout Counts) throws(CashetError) -> [UInt8]? {
        guard let page = try readPage(first, name: name) else { return nil }
        guard let pages = overflowRun(page.bytes, first: first, size: size) else {
            note(name, "the overflow pages at \(first) do not hold the \(size) bytes their node records")
            // LMDB reads the value's bytes without looking at the header: so does a salvage (the
            // record is checked by its reader), as far as the file goes.
            guard salvaging, reading, Int(first) + overflowPagesNeeded(size) <= pagesInFile else { return nil }
            return try file.readBytes(at: Int(first) * pageSize + Format.pageHeaderSize, count: size)
        }
        for index in Int(first) + 1 ..< Int(first) + pages {
            reachedAny.insert(index)
            if !reached.insert(index) || free.contains(index) {
                note(name, "overflow page \(index) is also used elsewhere, or listed as free")
                if !salvaging { return nil }
            }
        }
        counts.overflowPages += UInt64(pages)
        return reading ? try file.readBytes(at: Int(first) * pageSize + Format.pageHeaderSize, count: size) : []
    }

    private static func describe(_ flags: UInt16) -> String {
        switch flags & 0x2F {
        case Format.PageFlag.branch: "branch"
        case Format.PageFlag.leaf: "leaf"
        case Format.PageFlag.overflow: "overflow"
        case Format.PageFlag.meta: "meta"
        default: "malformed (flags \(flags))"
        }
    }

    private func note(_ tree: String, _ detail: String) {
        if problems.count < Self.problemLimit {
            problems.append(Problem(tree: tree, detail: detail))
        } else {
            problemsNotKept += 1
        }
    }
}

/// A set of page numbers below a bound, one bit each (the bound comes from the file's size).
private struct PageSet {
    private var words: [UInt64]

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    func contains(_ page: Int) -> Bool { words[page >> 6] & (1 << UInt64(page & 63)) != 0 }

    /// Adds `page`; false when it was there.
    @discardableResult
    mutating func insert(_ page: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(page & 63)
        defer { words[page >> 6] |= bit }
        return words[page >> 6] & bit == 0
    }
}
