@_spi(Fuzzing) import Cashet
import Foundation

/// The target named by CASHET_FUZZ_TARGET (one of `FuzzTarget`'s raw values).
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CASHET_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("CashetFuzz: set CASHET_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

/// Called once by libFuzzer before fuzzing. With CASHET_FUZZ_WRITE_SEEDS=DIR, writes the
/// target's seeds into DIR as seed-N files and exits (scripts/fuzz.sh --seeds).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    guard let directory = ProcessInfo.processInfo.environment["CASHET_FUZZ_WRITE_SEEDS"] else { return 0 }
    let done = DispatchSemaphore(value: 0)
    let target = target
    Task {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (index, seed) in try await target.seeds().enumerated() {
                FileManager.default.createFile(atPath: directory + "/seed-\(index)", contents: Data(seed))
            }
        } catch {
            FileHandle.standardError.write(Data("CashetFuzz: cannot write seeds: \(error)\n".utf8))
            exit(1)
        }
        done.signal()
    }
    done.wait()
    exit(0)
}

/// libFuzzer's entry point: one input, any bytes. A crash here is a bug in cashet.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = target.run(bytes)
    return 0
}
