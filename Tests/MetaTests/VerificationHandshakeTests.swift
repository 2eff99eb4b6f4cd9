import Foundation
import Meta
import Testing

@Suite struct VerificationHandshakeTests {
    @Test func aChallengeIsAnIntegerAsMetasAndOnlyItsExactEchoPasses() {
        let challenges = (0..<50).map { _ in VerificationHandshake.challenge() }
        #expect(challenges.allSatisfy { Int32($0) != nil && $0.count == 10 }, "\(challenges)")
        #expect(Set(challenges).count > 45, "random")
        let challenge = challenges[0]
        #expect(VerificationHandshake.passes(status: 200, body: Data(challenge.utf8), challenge: challenge))
        #expect(!VerificationHandshake.passes(status: 200, body: Data((challenge + "\n").utf8), challenge: challenge))
        #expect(!VerificationHandshake.passes(status: 200, body: Data((" " + challenge).utf8), challenge: challenge))
        #expect(!VerificationHandshake.passes(status: 201, body: Data(challenge.utf8), challenge: challenge))
        #expect(!VerificationHandshake.passes(status: 200, body: Data(), challenge: challenge))
    }
}
