import Foundation
import TestSupport
import Testing

/// A job's state changes in one place: `JobTransitions`. Any other statement in Sources or in
/// the migrations that sets `jobs.state` fails this test, naming the file and line.
@Suite struct JobTransitionsTests {
    /// `UPDATE jobs [alias] SET …` up to its WHERE, FROM or RETURNING: the assignments.
    static let update = try! NSRegularExpression(
        pattern: #"\bUPDATE\s+jobs\b(?:\s+(?!SET\b)\w+)?\s+SET\b((?:(?!\bWHERE\b|\bFROM\b|\bRETURNING\b)[\s\S])*)"#,
        options: [.caseInsensitive])
    static let setsState = try! NSRegularExpression(pattern: #"(^|[\s,])state\s*="#, options: [.caseInsensitive])

    /// Lines of `text` with an update of `jobs` that assigns `state`.
    static func stateWrites(in text: String) -> [Int] {
        let whole = NSRange(text.startIndex..., in: text)
        return update.matches(in: text, range: whole).compactMap { match in
            let assignments = match.range(at: 1)
            guard setsState.firstMatch(in: text, range: assignments) != nil else { return nil }
            return text[..<Range(match.range, in: text)!.lowerBound].filter { $0 == "\n" }.count + 1
        }
    }

    @Test func onlyJobTransitionsChangesAJobsState() throws {
        let root = TestEnvironment.repositoryRoot
        var offenders: [String] = []
        var scanned = 0
        for folder in ["Sources", "sql"] {
            let base = root.appendingPathComponent(folder)
            let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
            for file in files where ["swift", "sql"].contains(file.pathExtension) && file.lastPathComponent != "JobTransitions.swift" {
                scanned += 1
                for line in Self.stateWrites(in: try String(contentsOf: file, encoding: .utf8)) {
                    offenders.append("\(folder)/\(file.path.replacingOccurrences(of: base.path + "/", with: "")):\(line)")
                }
            }
        }
        #expect(scanned > 50, "the sources were found")
        #expect(offenders.isEmpty, "jobs.state written outside JobTransitions: \(offenders)")

        // The check finds a write where there is one, and only there.
        let transitions = try String(contentsOf: root.appendingPathComponent("Sources/JobQueue/JobTransitions.swift"), encoding: .utf8)
        #expect(Self.stateWrites(in: transitions).count == 8, "claim, complete (the completer's and a handler's own), fail, snooze, hand back, reap, retry, cancel")
        #expect(Self.stateWrites(in: "UPDATE jobs j\n SET attempt = 1, state = 'x' WHERE id = 1") == [1])
        #expect(Self.stateWrites(in: "UPDATE jobs SET run_at = now() WHERE state = 'available'").isEmpty)
    }
}
