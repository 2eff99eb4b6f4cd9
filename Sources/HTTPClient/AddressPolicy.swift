import Foundation

/// Which resolved addresses outbound calls to customer URLs may reach. Private, loopback,
/// link-local (cloud metadata lives there), CGNAT, multicast and reserved ranges are refused,
/// for IPv4, IPv6 and IPv4-mapped IPv6 alike.
public enum AddressPolicy {
    /// True when `address` (textual IPv4 or IPv6) is a public unicast address.
    public static func isPublic(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return isPublicIPv4(UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) carry an IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)) {
            let v4 = UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])
            return isPublicIPv4(v4)
        }
        if b.allSatisfy({ $0 == 0 }) { return false }                        // ::
        if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return false }            // fe80::/10 link-local
        if (b[0] & 0xfe) == 0xfc { return false }                             // fc00::/7 unique local
        if b[0] == 0xff { return false }                                      // ff00::/8 multicast
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return false }  // 2001:db8::/32 documentation
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b { return false }  // 64:ff9b::/96 NAT64
        return true
    }

    static func isPublicIPv4(_ a: UInt32) -> Bool {
        func inRange(_ base: UInt32, _ bits: UInt32) -> Bool {
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            return a & mask == base & mask
        }
        let blocked: [(UInt32, UInt32)] = [
            (0x0000_0000, 8),   // 0.0.0.0/8 "this network"
            (0x0a00_0000, 8),   // 10/8
            (0x6440_0000, 10),  // 100.64/10 CGNAT
            (0x7f00_0000, 8),   // 127/8 loopback
            (0xa9fe_0000, 16),  // 169.254/16 link-local, cloud metadata
            (0xac10_0000, 12),  // 172.16/12
            (0xc000_0000, 24),  // 192.0.0/24 IETF protocol assignments
            (0xc000_0200, 24),  // 192.0.2/24 documentation
            (0xc0a8_0000, 16),  // 192.168/16
            (0xc612_0000, 15),  // 198.18/15 benchmarking
            (0xc633_6400, 24),  // 198.51.100/24 documentation
            (0xcb00_7100, 24),  // 203.0.113/24 documentation
            (0xe000_0000, 4),   // 224/4 multicast
            (0xf000_0000, 4),   // 240/4 reserved, broadcast
        ]
        return !blocked.contains { inRange($0.0, $0.1) }
    }

    /// For checking a URL when it is given, without a DNS lookup (a slow resolver must not stall
    /// the request that gives it): an IP literal that is not public, or a name that is local by
    /// definition (`localhost`, `*.localhost`). Other names are resolved, checked and pinned
    /// when the URL is called.
    public static func nonPublicLiteral(host: String) -> String? {
        let bare = (host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host).lowercased()
        if bare == "localhost" || bare.hasSuffix(".localhost") { return bare }
        var v4 = in_addr()
        var v6 = in6_addr()
        let isLiteral = inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
        return isLiteral && !isPublic(bare) ? bare : nil
    }

    /// Every address `host` resolves to, as text.
    static func resolve(_ host: String, port: Int) throws -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else { throw HTTPClientError.resolution(host) }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if info.pointee.ai_family == AF_INET {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var a = $0.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                }
            } else if info.pointee.ai_family == AF_INET6 {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var a = $0.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                }
            }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.isEmpty && !addresses.contains(text) { addresses.append(text) }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
