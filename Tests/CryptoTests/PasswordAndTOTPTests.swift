import Crypto
import Foundation
import Testing

@Suite struct PasswordAndTOTPTests {
    /// RFC 7914 section 12, the second vector.
    @Test func scryptMatchesRFC7914() throws {
        let key = PasswordHash.derive("password", salt: Data("NaCl".utf8), parameters: .init(n: 1024, r: 8, p: 16), length: 64)
        #expect(key?.hexString == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    @Test func aStoredPasswordVerifiesAndNothingElseDoes() {
        let stored = PasswordHash.hash("correct horse battery", parameters: .init(n: 1024, r: 8, p: 1))
        #expect(stored.hasPrefix("scrypt$1024$8$1$"))
        #expect(PasswordHash.verify("correct horse battery", against: stored))
        #expect(!PasswordHash.verify("correct horse batterz", against: stored))
        #expect(PasswordHash.hash("same", parameters: .init(n: 1024, r: 8, p: 1)) != PasswordHash.hash("same", parameters: .init(n: 1024, r: 8, p: 1)),
                "each hash has its own salt")
        for broken in ["", "scrypt$1024$8$1$x", "bcrypt$1$2$3$4$5", "scrypt$1000$8$1$AAAA$AAAA", "scrypt$4194304$8$1$AAAA$AAAA"] {
            #expect(!PasswordHash.verify("x", against: broken), "\(broken)")
        }
    }

    /// RFC 6238 appendix B (SHA-1 rows), eight digits as the RFC prints them.
    @Test func totpMatchesRFC6238() {
        let secret = Data("12345678901234567890".utf8)
        let vectors: [(TimeInterval, String)] = [(59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
                                                 (1_234_567_890, "89005924"), (2_000_000_000, "69279037")]
        for (time, code) in vectors {
            #expect(TOTP.code(secret: secret, time: Date(timeIntervalSince1970: time), digits: 8) == code)
        }
    }

    @Test func totpAcceptsTheNeighbouringStepsOnly() {
        let secret = TOTP.newSecret()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(TOTP.verify(TOTP.code(secret: secret, time: now), secret: secret, time: now) != nil)
        #expect(TOTP.verify(TOTP.code(secret: secret, time: now.addingTimeInterval(-30)), secret: secret, time: now) != nil)
        #expect(TOTP.verify(TOTP.code(secret: secret, time: now.addingTimeInterval(-90)), secret: secret, time: now) == nil)
        #expect(TOTP.verify("12345", secret: secret, time: now) == nil)
        #expect(TOTP.base32(Data("foobar".utf8)) == "MZXW6YTBOI", "RFC 4648's vector, unpadded")
        #expect(TOTP.uri(secret: Data("foobar".utf8), account: "a@b.test", issuer: "Dualhook")
            == "otpauth://totp/Dualhook:a@b.test?secret=MZXW6YTBOI&issuer=Dualhook&digits=6&period=30")
    }
}
