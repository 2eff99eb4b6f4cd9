import Foundation
import JobQueue

extension Commands {
    static func printJob(_ job: JobAdmin.JobDetail, json: Bool) -> Int32 {
        let args = (try? JSONSerialization.jsonObject(with: Data(job.argsJSON.utf8))).map { JobAdmin.withoutSecrets($0) } ?? [:]
        let errors = (try? JSONSerialization.jsonObject(with: Data(job.errorsJSON.utf8))) as? [[String: Any]] ?? []
        let formatter = ISO8601DateFormatter()
        let summary = job.summary
        if json {
            let object: [String: Any] = [
                "id": summary.id, "queue": summary.queue, "kind": summary.kind, "state": summary.state,
                "attempt": summary.attempt, "maxAttempts": summary.maxAttempts, "runAt": formatter.string(from: summary.runAt),
                "createdAt": formatter.string(from: summary.createdAt),
                "finalizedAt": job.finalizedAt.map(formatter.string(from:)) ?? NSNull(), "uniqueKey": job.uniqueKey ?? NSNull(),
                "lockedBy": job.lockedBy ?? NSNull(), "lastError": summary.lastError ?? NSNull(), "args": args, "errors": errors,
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            else { return 1 }
            print(String(decoding: data, as: UTF8.self))
            return 0
        }
        print("job \(summary.id): \(summary.kind) on \(summary.queue), \(summary.state), attempt \(summary.attempt) of \(summary.maxAttempts)")
        print("  created    \(formatter.string(from: summary.createdAt))")
        print("  run at     \(formatter.string(from: summary.runAt))")
        if let finalized = job.finalizedAt { print("  finished   \(formatter.string(from: finalized))") }
        if let key = job.uniqueKey { print("  unique key \(key)") }
        if let worker = job.lockedBy { print("  worker     \(worker)") }
        let argsText = (try? JSONSerialization.data(withJSONObject: args, options: [.sortedKeys, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        print("  args       \(argsText)")
        if errors.isEmpty {
            print("  errors     (none)")
        } else {
            print("  errors")
            for error in errors {
                let attempt = error["attempt"].map { "\($0)" } ?? "?"
                let at = error["at"] as? String ?? "?"
                print("    #\(attempt) at \(at): \(error["error"] as? String ?? "?")")
            }
        }
        return 0
    }
}
