import Foundation

/// Bytes allocated on disk for the regular files under `path` (`st_blocks`, as `du` counts
/// them; links are not followed): what benchmarks report as a store's size on disk.
public func allocatedBytes(under path: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    for case let name as String in enumerator {
        var info = stat()
        if lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int(info.st_blocks) * 512 }
    }
    return total
}
