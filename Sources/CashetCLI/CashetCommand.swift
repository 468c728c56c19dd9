import ArgumentParser
import Cashet
import CashetPostgres
import Foundation
import Logging

@main
struct CashetCommand: AsyncParsableCommand {
    /// Runs the command line, with usage errors exiting 2 (ArgumentParser's default is 64).
    static func main() async {
        StorageCrashReport.install(status: ExitStatus.damaged)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                // One style for every error, ours and ArgumentParser's: "error: …", as git writes.
                var message = fullMessage(for: error)
                if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "cashet",
        abstract: "Inspect and clean up a cashet store: a content-addressable compute cache with git semantics.",
        version: "0.1.0",
        subcommands: [LogCommand.self, ShowCommand.self, GetCommand.self, DiffCommand.self, HistoryCommand.self, RmCommand.self, GCCommand.self,
                      StatsCommand.self, FsckCommand.self, CompactCommand.self, ExportCommand.self, ImportCommand.self, MigrateCommand.self,
                      ServeCommand.self]
    )

    @OptionGroup var store: StoreOptions
}

/// `--store DIR` or `--store postgresql://…`, accepted before or after the subcommand; then
/// `CASHET_DIR`; then `.cashet`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory, or a postgresql://user@host:port/database URL (password from the URL or $PGPASSWORD) (default: $CASHET_DIR or .cashet).")
    var store: String?
    @Option(name: .customLong("color"), help: "Colour: auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never.")
    var colour: ColourMode?
}

/// How a subcommand opens the store.
enum StoreAccess {
    /// Reads only: works on a read-only directory and beside a writing process; writes nothing.
    case readOnly
    /// Changes an existing store.
    case readWrite
    /// Changes the store, creating it when the directory has none (`import` into a new store).
    case create
}

/// What every subcommand shares: finding the store and turning cashet errors into exit codes.
protocol StoreCommand: AsyncParsableCommand {
    var parent: CashetCommand { get }
    var options: StoreOptions { get }
    static var storeAccess: StoreAccess { get }
    /// How this run opens the store: ``storeAccess`` unless a flag decides (`serve --allow-mutations`).
    var access: StoreAccess { get }
    /// Checks the arguments that ArgumentParser cannot (dates, sizes, tags) before the store is
    /// opened, so a usage error is reported as one even when the store is missing.
    func checkArguments() throws(CashetError)
    /// Runs with the store opened on first use (`import` checks its archive before that, so a
    /// damaged one leaves no store behind); the default opens it at once for ``run(client:)``.
    func run(opening store: StoreOpener) async throws
    func run(client: Client) async throws
}

/// Opens the store when a command first asks for it, and closes it afterwards. The client and
/// the store log to the same `logger`.
final class StoreOpener {
    private let logger: Logger
    private let open: (Logger) async throws(CashetError) -> any Store
    private var opened: Client?

    init(logger: Logger, _ open: @escaping (Logger) async throws(CashetError) -> any Store) {
        self.logger = logger
        self.open = open
    }

    func client() async throws(CashetError) -> Client {
        if let opened { return opened }
        let client = Client(store: try await open(logger), logger: logger)
        opened = client
        return client
    }

    func close() async { await opened?.close() }
}

extension StoreCommand {
    var storePath: String {
        options.store ?? parent.store.store ?? ProcessInfo.processInfo.environment["CASHET_DIR"] ?? ".cashet"
    }

    /// ``storePath`` for a command that rewrites an LMDB store's file (`migrate`, `compact`); a
    /// PostgreSQL URL is a usage error saying `why not`.
    func lmdbStorePath(_ whyNot: String) throws(CashetError) -> String {
        guard !PostgresStore.Configuration.isURL(storePath) else { throw CashetError(.invalidArgument, whyNot) }
        return storePath
    }

    static var storeAccess: StoreAccess { .readWrite }

    var access: StoreAccess { Self.storeAccess }

    func checkArguments() throws(CashetError) {}

    func run(opening store: StoreOpener) async throws {
        try await run(client: try await store.client())
    }

    func run(client: Client) async throws {}

    func run() async throws {
        Output.useColour(options.colour ?? parent.store.colour ?? .auto)
        do {
            try checkArguments()
            let store = StoreOpener(logger: try CLILogging.logger()) { logger async throws(CashetError) in try await openStore(logger: logger) }
            do {
                try await run(opening: store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        } catch let error as CashetError {
            FileHandle.standardError.write(Data("error: \(Output.clean(error.message))\n".utf8))
            throw ExitCode(ExitStatus.of(error))
        }
    }
}

extension StoreCommand {
    /// The store `--store` names: a PostgreSQL store for a `postgresql://` URL, else an LMDB
    /// store in that directory. Only `import` creates an LMDB store: a wrong --store must not
    /// leave one behind.
    func openStore(logger: Logger) async throws(CashetError) -> any Store {
        if PostgresStore.Configuration.isURL(storePath) {
            var configuration = try PostgresStore.Configuration(url: storePath)
            configuration.logger = logger
            return try await PostgresStore(configuration)
        }
        var configuration = LMDBStore.Configuration()
        configuration.logger = logger
        // Inspection and maintenance leave a store's schema alone: `cashet migrate` upgrades it.
        configuration.migration = .manual
        configuration.create = access == .create
        configuration.readOnly = access == .readOnly
        // A command shows or writes a result once: worth its SHA-256 (~1.8 GB/s), never wrong bytes.
        configuration.verifyOnLoad = true
        return try LMDBStore(storePath, configuration: configuration)
    }
}
