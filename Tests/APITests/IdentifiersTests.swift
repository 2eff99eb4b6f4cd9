import Foundation
import Testing
@testable import Dualhook

@Suite struct IdentifiersTests {
    @Test func onboardingTokensAreURLSafeBase64OfThirtyTwoBytes() throws {
        let tokens = (0..<300).map { _ in Identifiers.onboardingToken() }
        #expect(Set(tokens).count == tokens.count)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for token in tokens {
            #expect(token.count == 43)
            #expect(token.allSatisfy { alphabet.contains($0) })
            let standard = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
            #expect(Data(base64Encoded: standard)?.count == 32)
        }
        // Over 300 tokens every character of the alphabet turns up, the URL-safe two included.
        #expect(Set(tokens.joined()) == alphabet)
    }

    @Test func idsCarryTheirPrefixAndTwentyFourBase62Characters() {
        let id = Identifiers.make("ses")
        #expect(id.hasPrefix("ses_"))
        #expect(id.dropFirst(4).count == 24)
        #expect(id.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
    }
}
