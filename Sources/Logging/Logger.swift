import Foundation

/// A structured logger that writes one logfmt line per call to standard error:
/// `ts=2026-11-21T16:34:00.123Z level=info logger=work msg="worker started" queues=default concurrency=10`.
///
/// Lines are assembled in full and written with a single `write(2)`, so lines from many threads
/// never interleave. Callers pass metadata explicitly; nothing is ever taken from a request or
/// a job's arguments implicitly, which is how secrets stay out of logs.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case debug = 0, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warn"
            case .error: "error"
            }
        }
    }

    public let label: String
    public var minimumLevel: Level
    public var metadata: [(String, String)]

    public init(label: String, minimumLevel: Level = Logger.defaultLevel, metadata: [(String, String)] = []) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.metadata = metadata
    }

    /// `DUALHOOK_LOG_LEVEL` (debug, info, warn, error); info by default.
    public static let defaultLevel: Level = {
        switch ProcessInfo.processInfo.environment["DUALHOOK_LOG_LEVEL"]?.lowercased() {
        case "debug": .debug
        case "warn", "warning": .warning
        case "error": .error
        default: .info
        }
    }()

    /// Writes a line that is already formatted, with the same one-write
    /// guarantee as every other line.
    public static func writeRaw(_ line: String) {
        LogSink.write(line)
    }

    public func with(_ key: String, _ value: CustomStringConvertible) -> Logger {
        var copy = self
        copy.metadata.append((key, value.description))
        return copy
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        log(.debug, message(), fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        log(.info, message(), fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        log(.warning, message(), fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        log(.error, message(), fields)
    }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ fields: KeyValuePairs<String, Any> = [:]) {
        guard level >= minimumLevel else { return }
        var line = start(level, message())
        for (key, value) in fields { Logger.append(key, "\(value)", to: &line) }
        line += "\n"
        LogSink.write(line)
    }

    /// A line whose values are strings already: for lines written on every request, where
    /// describing `Any` values cost more than the rest of the line.
    public func log(_ level: Level, _ message: String, strings fields: [(String, String)]) {
        guard level >= minimumLevel else { return }
        var line = start(level, message)
        for (key, value) in fields { Logger.append(key, value, to: &line) }
        line += "\n"
        LogSink.write(line)
    }

    /// logfmt throughout: `ts=… level=… logger=… msg=… key=value…`, as access lines are.
    private func start(_ level: Level, _ message: String) -> String {
        var line = "ts="
        line.reserveCapacity(256)
        line += Logger.timestamp()
        line += " level="
        line += level.description
        Logger.append("logger", label, to: &line)
        Logger.append("msg", message, to: &line)
        for (key, value) in metadata { Logger.append(key, value, to: &line) }
        return line
    }

    static func append(_ key: String, _ value: String, to line: inout String) {
        line += " "
        line += key
        line += "="
        if value.isEmpty || Logger.needsQuotes(value) {
            line += "\""
            // Over the bytes, copying the runs between escapes in one piece (scalar by scalar
            // this was most of an access line's cost, callgrind). An ASCII byte in UTF-8 is
            // always that character, so a quote followed by a combining mark is still escaped.
            let bytes = value.utf8
            var run = bytes.startIndex
            var index = bytes.startIndex
            while index < bytes.endIndex {
                let escape: String? = switch bytes[index] {
                case UInt8(ascii: "\""): "\\\""
                case UInt8(ascii: "\\"): "\\\\"
                case UInt8(ascii: "\n"): "\\n"
                case UInt8(ascii: "\r"): "\\r"
                default: nil
                }
                if let escape {
                    line += value[run..<index]
                    line += escape
                    run = bytes.index(after: index)
                }
                index = bytes.index(after: index)
            }
            line += value[run...]
            line += "\""
        } else {
            line += value
        }
    }

    /// A space, a quote, an equals sign or a line break. Over the bytes (Character by Character
    /// this was a visible part of each access line): in UTF-8 every byte of a non-ASCII scalar is
    /// 0x80 or above, so an ASCII byte is always that character, even where a combining mark
    /// after it makes one Character of the two. Past ASCII only NEL, LS and PS break lines.
    static func needsQuotes(_ value: String) -> Bool {
        var ascii = true
        for byte in value.utf8 {
            switch byte {
            case 0x20, 0x22, 0x3D, 0x0A, 0x0B, 0x0C, 0x0D: return true
            case 0x80...: ascii = false
            default: continue
            }
        }
        return !ascii && value.unicodeScalars.contains { $0 == "\u{85}" || $0 == "\u{2028}" || $0 == "\u{2029}" }
    }

    static func timestamp() -> String { Timestamp.rfc3339(Date()) }
}

/// Where log lines go: standard error, one `write(2)` per line.
enum LogSink {
    static func write(_ line: String) {
        var line = line
        line.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
