import Foundation
@testable import JobQueue
import Postgres
import TestSupport
import Testing

@Suite struct EnqueueTests {
    @Test func aUniqueKeyAllowsOneLiveJob() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        try db.with { connection throws in
            let options = JobOptions(uniqueKey: "sweep:x:1")
            let first = try JobQueue.enqueue(CountJob.self, .init(n: 1), options: options, on: connection)
            #expect(first != nil)
            #expect(try JobQueue.enqueue(CountJob.self, .init(n: 2), options: options, on: connection) == nil)
            try connection.sql("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = \(first!)")
            #expect(try JobQueue.enqueue(CountJob.self, .init(n: 3), options: options, on: connection) != nil)
            #expect(try connection.sql("SELECT count(*) FROM jobs").scalar(Int.self) == 2)
        }
    }

    @Test func concurrentEnqueuesWithOneKeyMakeOneJob() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let group = DispatchGroup()
        let failures = Recorder()
        for i in 0..<8 {
            DispatchQueue.global().async(group: group) {
                do {
                    let connection = try db.connect()
                    defer { connection.close() }
                    try connection.transaction { tx in
                        try JobQueue.enqueue(CountJob.self, .init(n: i), options: JobOptions(uniqueKey: "one"), on: tx)
                        try tx.sql("SELECT pg_sleep(0.05)")
                    }
                } catch {
                    failures.record(Int64(i))
                }
            }
        }
        group.wait()
        #expect(failures.all.isEmpty)
        #expect(try db.with { try $0.sql("SELECT count(*) FROM jobs WHERE unique_key = 'one'").scalar(Int.self) } == 1)
    }

    @Test func bulkEnqueueInsertsEveryJobAndNotifiesAtCommit() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let listener = try Listener(url: db.url)
        try listener.listen(JobQueue.channel(for: "default"))
        try db.with { connection throws in
            try connection.transaction { tx in
                let inserted = try JobQueue.enqueueMany(CountJob.self, (0..<2500).map { CountJob.Args(n: $0) }, on: tx)
                #expect(inserted == 2500)
                #expect(try listener.wait(timeout: 0.1).isEmpty)
            }
            let notes = try listener.wait(timeout: 2)
            #expect(notes.count == 1)
            #expect(try connection.sql("SELECT count(DISTINCT args->>'n') FROM jobs WHERE state = 'available'").scalar(Int.self) == 2500)
            // A rolled-back enqueue leaves no job.
            struct Abort: Error {}
            _ = try? connection.transaction { tx in
                try JobQueue.enqueue(CountJob.self, .init(n: -1), on: tx)
                throw Abort()
            }
            #expect(try connection.sql("SELECT count(*) FROM jobs").scalar(Int.self) == 2500)
        }
    }

    @Test func concurrentClaimsNeverShareAJob() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        try db.with { connection throws in
            try JobQueue.enqueueMany(CountJob.self, (0..<400).map { CountJob.Args(n: $0) }, on: connection)
        }
        let claimed = Recorder()
        let group = DispatchGroup()
        for worker in 0..<4 {
            DispatchQueue.global().async(group: group) {
                guard let connection = try? db.connect() else { return }
                defer { connection.close() }
                while let jobs = try? JobTransitions.claim(queue: "default", limit: 7, workerID: "w\(worker)", leaseMargin: 5,
                                                        on: connection), !jobs.isEmpty {
                    for job in jobs { claimed.record(job.id) }
                }
            }
        }
        group.wait()
        #expect(claimed.all.count == 400)
        #expect(Set(claimed.all).count == 400)
        let states = try db.with { try $0.sql("SELECT count(*) FROM jobs WHERE state = 'running' AND attempt = 1").scalar(Int.self) }
        #expect(states == 400)
    }
}
