import Logging

extension Logger {
    /// cashet's default: a library stays quiet until its user hands it a logger.
    @usableFromInline package static let cashetQuiet = Logger(label: "cashet", factory: { _ in SwiftLogNoOpLogHandler() })

    /// This logger with `key` set to `value` in its metadata.
    package func with(_ key: String, _ value: String) -> Logger {
        var logger = self
        logger[metadataKey: key] = .string(value)
        return logger
    }
}

extension Fingerprint {
    /// The fingerprint shortened for log metadata: both hashes' first 12 hex digits.
    package var logValue: Logger.MetadataValue { .string("\(functionHash.shortHex):\(argumentsHash.shortHex)") }
}
