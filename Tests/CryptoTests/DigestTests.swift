import Crypto
import Foundation
import Testing

@Suite struct DigestTests {
    @Test func sha256MatchesTheFIPSVectors() {
        #expect(Digest.sha256("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256("").hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hmacMatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = Digest.hmacSHA256(key: Data("Jefe".utf8), message: Data("what do ya want for nothing?".utf8))
        #expect(mac.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func hexRoundTripsAndRejectsGarbage() {
        let bytes = Data([0x00, 0x7f, 0x80, 0xff])
        #expect(bytes.hexString == "007f80ff")
        #expect(Data(hexString: "007F80ff") == bytes)
        #expect(Data(hexString: "0g") == nil)
        #expect(Data(hexString: "abc") == nil)
    }

    @Test func randomTokensAreBase62AndDistinct() {
        let tokens = (0..<200).map { _ in SecureRandom.base62(32) }
        #expect(Set(tokens).count == 200)
        #expect(tokens.allSatisfy { $0.count == 32 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        #expect(SecureRandom.bytes(32).count == 32)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals(Data("same".utf8), Data("same".utf8)))
        #expect(!ConstantTime.equals(Data("same".utf8), Data("samf".utf8)))
        #expect(!ConstantTime.equals(Data("short".utf8), Data("longer".utf8)))
    }
}
