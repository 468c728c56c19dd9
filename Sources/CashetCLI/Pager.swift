import Foundation

/// `log`, `history` and `diff` on a terminal go through a pager, as git's do: `$CASHET_PAGER`,
/// then `$PAGER`, then `less` (with `LESS=FRX` unless `LESS` is set: quit when it fits on one
/// screen, keep colours, leave the screen as it is). `--no-pager`, an empty or `cat` pager, or
/// output that is not a terminal print directly.
enum Pager {
    /// Starts the pager and sends standard output to it; nil when output goes straight out.
    static func start(disabled: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Process? {
        guard !disabled, isatty(STDOUT_FILENO) == 1 else { return nil }
        let command = environment["CASHET_PAGER"] ?? environment["PAGER"] ?? "less"
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty, command != "cat" else { return nil }
        // The default pager may be missing (minimal systems): then no pager, never lost output.
        if command == "less", !isInPath("less", environment: environment) { return nil }
        var settings = environment
        if settings["LESS"] == nil { settings["LESS"] = "FRX" }
        let pipe = Pipe()
        let pager = Process()
        pager.executableURL = URL(fileURLWithPath: "/bin/sh")
        pager.arguments = ["-c", command]
        pager.environment = settings
        pager.standardInput = pipe
        _ = Output.colourEnabled   // decided while stdout is still the terminal
        do { try pager.run() } catch { return nil }
        // A reader that quits early (q in less) must not kill us with SIGPIPE mid-listing.
        signal(SIGPIPE, SIG_IGN)
        fflush(nil)   // every stream: `stdout` itself is not concurrency-safe to name
        dup2(pipe.fileHandleForWriting.fileDescriptor, STDOUT_FILENO)
        try? pipe.fileHandleForWriting.close()
        return pager
    }

    /// Ends the output and waits for the reader to quit the pager.
    static func finish(_ pager: Process?) {
        guard let pager else { return }
        fflush(nil)   // every stream: `stdout` itself is not concurrency-safe to name
        close(STDOUT_FILENO)
        pager.waitUntilExit()
    }

    private static func isInPath(_ name: String, environment: [String: String]) -> Bool {
        (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains { directory in
            FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)")
        }
    }
}
