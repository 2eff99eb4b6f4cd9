import CCrypto
import Foundation

/// SHA-256 and HMAC-SHA256 over OpenSSL's libcrypto.
public enum Digest {
    public static func sha256(_ data: some DataProtocol) -> Data {
        var out = Data(count: 32)
        out.withUnsafeMutableBytes { outBuffer in
            Digest.withBytes(data) { input in
                var context = DigestContext(.sha256)
                context.update(input)
                context.finish(into: outBuffer)
            }
        }
        return out
    }

    public static func sha256(_ string: String) -> Data { sha256(Data(string.utf8)) }

    public static func hmacSHA256(key: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(.sha256, key: key, message: message)
    }

    /// HMAC-SHA256 of `prefix` followed by `message`, without joining them first (a signed
    /// webhook is `<timestamp>.` and a body of any size).
    public static func hmacSHA256(key: some DataProtocol, prefix: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(.sha256, key: key, prefix: prefix, message: message)
    }

    /// HMAC-SHA1: only for TOTP, which authenticator apps compute with SHA-1 (RFC 6238).
    public static func hmacSHA1(key: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(.sha1, key: key, message: message)
    }

    /// HMAC as RFC 2104 defines it, over a digest fetched once (`DigestContext.Algorithm`).
    /// OpenSSL 3's one-shot `HMAC()` goes through `EVP_Q_mac`, which looks the MAC and the
    /// digest up by name at every call: callgrind over `dualhook work` delivering 2,000 events
    /// of `ops/bench/events` counted 137M instructions in it, of which SHA-256 itself was 54M.
    static func hmac(_ algorithm: DigestContext.Algorithm, key: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(algorithm, key: key, prefix: EmptyCollection<UInt8>(), message: message)
    }

    static func hmac(_ algorithm: DigestContext.Algorithm, key: some DataProtocol, prefix: some DataProtocol,
                     message: some DataProtocol) -> Data {
        let block = 64
        // A key longer than the block is hashed first; a shorter one is padded with zeros.
        var pad = [UInt8](repeating: 0, count: block)
        pad.withUnsafeMutableBytes { padBuffer in
            withBytes(key) { keyBytes in
                if keyBytes.count > block {
                    var context = DigestContext(algorithm)
                    context.update(keyBytes)
                    context.finish(into: padBuffer)
                } else if keyBytes.count > 0 {
                    padBuffer.copyMemory(from: keyBytes)
                }
            }
        }
        var out = Data(count: algorithm.length)
        var inner = [UInt8](repeating: 0, count: algorithm.length)
        var context = DigestContext(algorithm)
        for i in 0..<block { pad[i] ^= 0x36 }
        pad.withUnsafeBytes { context.update($0) }
        if !prefix.isEmpty { withBytes(prefix) { context.update($0) } }
        withBytes(message) { context.update($0) }
        inner.withUnsafeMutableBytes { context.finish(into: $0) }
        for i in 0..<block { pad[i] ^= 0x36 ^ 0x5c }
        context.restart()
        pad.withUnsafeBytes { context.update($0) }
        inner.withUnsafeBytes { context.update($0) }
        out.withUnsafeMutableBytes { context.finish(into: $0) }
        return out
    }

    /// The bytes in one piece: `Data` and arrays lend theirs, anything else is copied once.
    static func withBytes<R>(_ data: some DataProtocol, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = data.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(data).withUnsafeBytes(body)
    }
}

/// One running digest (`EVP_MD_CTX`) of an algorithm fetched once per process.
struct DigestContext: ~Copyable {
    enum Algorithm {
        case sha256, sha1

        var length: Int { self == .sha256 ? 32 : 20 }

        /// `nonisolated(unsafe)`: a fetched `EVP_MD` is immutable and OpenSSL lets any number
        /// of threads use it at once; fetching it once, not per digest, is the point.
        nonisolated(unsafe) static let fetchedSHA256 = EVP_MD_fetch(nil, "SHA256", nil)
        nonisolated(unsafe) static let fetchedSHA1 = EVP_MD_fetch(nil, "SHA1", nil)

        var md: OpaquePointer? { self == .sha256 ? Algorithm.fetchedSHA256 : Algorithm.fetchedSHA1 }
    }

    private let context: OpaquePointer?
    private let algorithm: Algorithm

    init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        context = EVP_MD_CTX_new()
        precondition(context != nil && algorithm.md != nil, "libcrypto has no \(algorithm)")
        // A digest that did not start would hash nothing and answer garbage: stop instead.
        precondition(EVP_DigestInit_ex2(context, algorithm.md, nil) == 1, "libcrypto could not start \(algorithm)")
    }

    deinit { EVP_MD_CTX_free(context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1, "libcrypto could not hash")
    }

    /// Writes the digest to the first `length` bytes of `out`; `restart` before the next use.
    mutating func finish(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= algorithm.length)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, out.bindMemory(to: UInt8.self).baseAddress, &length) == 1,
                     "libcrypto could not finish \(algorithm)")
    }

    /// The same algorithm from the start; its state is reused rather than made again.
    mutating func restart() {
        precondition(EVP_DigestInit_ex2(context, algorithm.md, nil) == 1, "libcrypto could not start \(algorithm)")
    }
}

extension Data {
    /// Lower-case hexadecimal.
    /// Written over the bytes in place: iterating `Data` byte by byte cost about 150
    /// instructions a byte (callgrind, a signature's 32 bytes in `ops/bench/events`).
    public var hexString: String {
        withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = table[Int(byte >> 4)]
                    out[2 * index + 1] = table[Int(byte & 0x0f)]
                }
                return bytes.count * 2
            }
        }
    }

    /// Parses hexadecimal (either case); nil when the text is not hex.
    public init?(hexString: String) {
        let chars = Array(hexString.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = Data.nibble(chars[i]), let lo = Data.nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
