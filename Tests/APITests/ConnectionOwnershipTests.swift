import Foundation
import TestSupport
import Testing

/// `connections` has one writer: `ConnectionStore`. Any other SQL that inserts, updates or
/// deletes its rows fails this test, naming the file and line.
@Suite struct ConnectionOwnershipTests {
    @Test func onlyTheConnectionStoreWritesConnections() throws {
        let sources = TestEnvironment.repositoryRoot.appendingPathComponent("Sources")
        let writes = try NSRegularExpression(pattern: #"\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+connections\b"#, options: [.caseInsensitive])
        var offenders: [String] = []
        var scanned = 0
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            scanned += 1
            if file.lastPathComponent.hasPrefix("ConnectionStore") { continue }
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (number, line) in lines.enumerated() {
                let range = NSRange(line.startIndex..., in: line)
                if writes.firstMatch(in: line, range: range) != nil {
                    offenders.append("\(file.path.replacingOccurrences(of: sources.path + "/", with: "")):\(number + 1)")
                }
            }
        }
        #expect(scanned > 50, "the sources were found")
        #expect(offenders.isEmpty, "connections written outside ConnectionStore: \(offenders)")
        // The check itself finds a write where there is one.
        let sample = "try tx.sql(\"UPDATE connections SET status = 'x'\")"
        #expect(writes.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)) != nil)
    }
}
