import Cashet
import Foundation
import Logging

/// What the library logs, on stderr (stdout stays the command's output, `--json` included).
enum CLILogging {
    /// The variable that sets the level: `trace`, `debug`, `info`, `notice`, `warning` (the
    /// default) `error` or `critical`.
    static let variable = "CASHET_LOG_LEVEL"

    /// A logger writing to stderr at the level `CASHET_LOG_LEVEL` names.
    static func logger(environment: [String: String] = ProcessInfo.processInfo.environment) throws(CashetError) -> Logger {
        let level: Logger.Level
        if let text = environment[variable], !text.isEmpty {
            guard let named = Logger.Level(rawValue: text.lowercased()) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw CashetError(.invalidArgument, "\(variable) is '\(text)'; it must be one of \(levels)")
            }
            level = named
        } else {
            level = .warning
        }
        var logger = Logger(label: "cashet") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}
