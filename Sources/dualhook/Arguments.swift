import Foundation

/// A usage mistake: printed as one line, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--name value`, `--name=value`, `--flag`, and positionals.
struct Arguments {
    var positionals: [String] = []
    var options: [String: String] = [:]
    var flags: Set<String> = []

    init(_ args: ArraySlice<String>, options valueOptions: Set<String>, flags knownFlags: Set<String>) throws {
        var rest = args
        while let arg = rest.popFirst() {
            if arg == "--" {
                positionals += rest
                break
            }
            guard arg.hasPrefix("--"), arg.count > 2 else {
                positionals.append(arg)
                continue
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if knownFlags.contains(name) {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
            } else if valueOptions.contains(name) {
                guard let value = inline ?? rest.popFirst() else { throw UsageError("--\(name) needs a value") }
                options[name] = value
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = options[name] else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    func seconds(_ name: String, default value: TimeInterval) throws -> TimeInterval {
        guard let text = options[name] else { return value }
        guard let n = TimeInterval(text), n >= 0, n.isFinite else { throw UsageError("--\(name) must be a number of seconds") }
        return n
    }

    func expectPositionals(_ count: Int, _ what: String) throws {
        if positionals.count < count { throw UsageError("missing \(what)") }
        if positionals.count > count { throw UsageError("unexpected argument \(positionals[count])") }
    }
}
