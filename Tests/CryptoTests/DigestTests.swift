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
        // Test case 6: a key longer than the block is hashed first.
        let long = Digest.hmacSHA256(key: Data(repeating: 0xaa, count: 131),
                                     message: Data("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(long.hexString == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        // Test case 4: a 25-byte key, a 50-byte message.
        let four = Digest.hmacSHA256(key: Data(1...25), message: Data(repeating: 0xcd, count: 50))
        #expect(four.hexString == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
    }

    @Test func hmacOfAnEmptyKeyAndOfKeysAtTheBlockSize() {
        // HMAC-SHA256("", "") and with a key of exactly 64 bytes, as Python's hmac module computes them.
        #expect(Digest.hmacSHA256(key: Data(), message: Data()).hexString
            == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        #expect(Digest.hmacSHA256(key: Data(repeating: 0x61, count: 64), message: Data("abc".utf8)).hexString
            == "6608ac82dca1cb1fddbb5d81e3d9877642b744f565cd9697ac27daa250c80d28")
        // A slice that does not start at index 0, and an array, sign as the same bytes would.
        #expect(Digest.hmacSHA256(key: Data("xxJefe".utf8).dropFirst(2), message: Array("what do ya want for nothing?".utf8)).hexString
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func hmacSHA1MatchesRFC2202() {
        // RFC 2202 test case 2, the one TOTP's library relies on.
        let mac = Digest.hmacSHA1(key: Data("Jefe".utf8), message: Data("what do ya want for nothing?".utf8))
        #expect(mac.hexString == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
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
