import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

@Suite struct SigningSecretRotationTests {
    /// Two rotations in a row: the second answers when the secret it replaced stops (its own
    /// overlap), not the first secret's shorter one; all three sign meanwhile.
    @Test func aSecondRotationAnswersWhenTheSecretItReplacedStops() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            let account = try AccountStore.create(name: "Rotating", displayName: nil, logoURL: nil, eventURL: nil, redirectOrigins: [],
                                                  vault: TestEnvironment.vault, on: c)
            let first = try SigningSecrets.rotate(.account(account.accountId), overlap: 3600, vault: TestEnvironment.vault, on: c)
            #expect(abs(first.previousExpireAt.timeIntervalSinceNow - 3600) < 30)
            let second = try SigningSecrets.rotate(.account(account.accountId), overlap: 86_400, vault: TestEnvironment.vault, on: c)
            #expect(abs(second.previousExpireAt.timeIntervalSinceNow - 86_400) < 30, "\(second.previousExpireAt)")
            let valid = try c.sql("""
                SELECT count(*) FROM account_signing_secrets WHERE account_id = \(account.accountId) AND (expires_at IS NULL OR expires_at > now())
                """).scalar(Int.self)
            #expect(valid == 3)
        }
    }
}
