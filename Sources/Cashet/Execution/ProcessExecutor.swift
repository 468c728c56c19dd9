import CCashetSystem
import Foundation

/// Runs each body in a child process, for crash isolation: a crash, abort or `kill -9` of the
/// child fails that call (recorded as a failed commit) and the caller carries on. A time limit
/// kills the child rather than waiting on a body that ignores cancellation.
///
/// The child is `executable` (this program by default) started with `CASHET_WORKER=1`. That
/// program must start by calling ``WorkerRegistry/serveIfWorker()`` on a registry holding every
/// function it may be asked to run. The child runs the one call whose function identity and
/// arguments it reads on stdin, and answers on its original stdout; what the body prints goes
/// to stderr. Arguments and results cross as ``BinarySerializer`` bytes. Each call pays
/// for a process start (milliseconds), so this suits calls that are long or may crash.
public struct ProcessExecutor: CallExecutor {
    /// The program started for each call.
    public let executable: String

    /// An executor starting `executable` (by default, the running program) for each call.
    public init(executable: String = ProcessExecutor.currentExecutable) {
        self.executable = executable
    }

    /// The running program's path.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// How a child failed.
    public struct WorkerFailure: Error, CustomStringConvertible {
        /// What happened, naming the function.
        public let description: String
    }

    public nonisolated(nonsending) func execute<Output: Sendable>(_ request: ExecutionRequest<Output>) async throws -> Output {
        let message = WorkerProtocol.Request(function: request.task.functionHash, arguments: try request.encodedArguments()).bytes

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = []
        process.environment = ProcessInfo.processInfo.environment.merging([WorkerProtocol.environmentKey: "1"]) { _, worker in worker }
        let input = Pipe(), output = Pipe()
        let requestBytes = Data(message)
        process.standardInput = input
        process.standardOutput = output
        let name = request.task.functionName
        do {
            try process.run()
        } catch {
            throw WorkerFailure(description: "cannot start a worker process (\(executable)) for \(name): \(error)")
        }
        let (reply, requestWritten): (Data, Bool) = await withTaskCancellationHandler {
            // Blocking pipe I/O and the wait run on a thread of their own, not the cooperative
            // pool; SIGPIPE is blocked there, so a child that exits before reading its request
            // fails this write with EPIPE instead of killing this process.
            await runOffPool {
                _ = cashet_block_sigpipe_in_this_thread()
                let written = (try? input.fileHandleForWriting.write(contentsOf: requestBytes)) != nil
                try? input.fileHandleForWriting.close()
                let reply = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (reply, written)
            }
        } onCancel: {
            kill(process.processIdentifier, SIGKILL)
        }
        if Task.isCancelled { throw CancellationError() }
        if !requestWritten && reply.isEmpty {
            throw WorkerFailure(description: "the worker process running \(name) (\(executable)) exited with status \(process.terminationStatus) before reading its request")
        }
        if process.terminationReason == .uncaughtSignal {
            throw WorkerFailure(description: "the worker process running \(name) was killed by signal \(process.terminationStatus)")
        }
        let bytes = [UInt8](reply)
        guard process.terminationStatus == 0, let status = bytes.first else {
            throw WorkerFailure(description: "the worker process running \(name) exited with status \(process.terminationStatus) without an answer")
        }
        let payload = Array(bytes.dropFirst())
        guard status == WorkerProtocol.succeeded else { throw WorkerFailure(description: String(decoding: payload, as: UTF8.self)) }
        return try request.decodeOutput(payload)
    }
}

/// What a worker process reads and writes.
enum WorkerProtocol {
    static let environmentKey = "CASHET_WORKER"
    static let magic = Array("CASHETW1".utf8)
    static let succeeded: UInt8 = 0
    static let failed: UInt8 = 1

    /// What a worker reads on stdin: magic, function identity, then each encoded argument.
    struct Request {
        let function: ContentHash
        let arguments: [[UInt8]]

        init(function: ContentHash, arguments: [[UInt8]]) {
            self.function = function
            self.arguments = arguments
        }

        /// Parses a request; anything else is `.invalidArgument`.
        init(_ bytes: [UInt8]) throws(CashetError) {
            var reader = ByteReader(bytes, what: "worker request")
            guard bytes.starts(with: WorkerProtocol.magic) else {
                throw CashetError(.invalidArgument, "a worker got a request that is not from cashet")
            }
            try reader.skip(WorkerProtocol.magic.count)
            function = try ContentHash(bytes: try reader.readBytes(32))
            var arguments: [[UInt8]] = []
            for _ in 0..<(try reader.readLength()) { arguments.append(try reader.readLengthPrefixed()) }
            guard reader.isAtEnd else { throw CashetError(.invalidArgument, "a worker request has trailing bytes") }
            self.arguments = arguments
        }

        var bytes: [UInt8] {
            var message = ByteWriter(capacity: 256)
            message.append(contentsOf: WorkerProtocol.magic)
            message.append(contentsOf: function.bytes)
            message.appendVarint(UInt64(arguments.count))
            for argument in arguments { message.appendLengthPrefixed(argument) }
            return message.bytes
        }
    }
}

/// The functions a worker process (see ``ProcessExecutor``) can run, by function identity.
public struct WorkerRegistry: Sendable {
    private var handlers: [ContentHash: @Sendable ([[UInt8]]) async throws -> [UInt8]] = [:]

    /// An empty registry.
    public init() {}

    /// Makes `function` runnable in worker processes.
    public mutating func register<each Argument: Codable & Sendable, Output>(_ function: CachedFunction<repeat each Argument, Output>) {
        handlers[function.identity.hash] = { parts in
            var arguments = parts.makeIterator()
            func next<T: Decodable>(_ type: T.Type) throws -> T {
                guard let bytes = arguments.next() else { throw CashetError(.invalidArgument, "a worker got too few arguments for \(function.identity.name)") }
                return try BinarySerializer().decode(type, from: bytes)
            }
            let output = try await function.body(repeat try next((each Argument).self))
            return try BinarySerializer().encode(output)
        }
    }

    /// When this process was started by a ``ProcessExecutor``, runs the requested call, writes
    /// its answer and exits; otherwise returns at once. Call it first thing in `main`.
    public func serveIfWorker() async {
        guard ProcessInfo.processInfo.environment[WorkerProtocol.environmentKey] == "1" else { return }
        // The answer goes to the original stdout; anything the body prints goes to stderr.
        let answer = FileHandle(fileDescriptor: dup(STDOUT_FILENO), closeOnDealloc: true)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        let reply: [UInt8]
        do {
            reply = [WorkerProtocol.succeeded] + (try await run(FileHandle.standardInput.readDataToEndOfFile()))
        } catch {
            reply = [WorkerProtocol.failed] + Array(String(describing: error).utf8)
        }
        try? answer.write(contentsOf: Data(reply))
        try? answer.close()
        exit(0)
    }

    private func run(_ request: Data) async throws -> [UInt8] {
        let request = try WorkerProtocol.Request([UInt8](request))
        guard let handler = handlers[request.function] else {
            throw CashetError(.notFound, "this worker has no function with identity \(request.function.shortHex); register it in its WorkerRegistry")
        }
        return try await handler(request.arguments)
    }
}
