import Foundation
import HTTPServer
import JSON

extension SessionRoutes.Created {
    /// The 201's body, written directly with the keys sorted, as `Response.json` writes it.
    /// `JSONEncoder` (with its date strategy) cost 31k of the 595k instructions `serve` spent on
    /// a session request (callgrind over `ops/bench/api`'s load).
    var json: Data {
        let expires = Response.timestamp(expiresAt)
        var out: [UInt8] = []
        out.reserveCapacity(onboardingUrl.utf8.count + sessionId.utf8.count + expires.utf8.count + 80)
        out.append(contentsOf: #"{"expiresAt":"#.utf8)
        CanonicalJSON.append(quoted: expires, to: &out)
        out.append(contentsOf: #","onboardingUrl":"#.utf8)
        CanonicalJSON.append(quoted: onboardingUrl, to: &out)
        out.append(contentsOf: #","sessionId":"#.utf8)
        CanonicalJSON.append(quoted: sessionId, to: &out)
        out.append(contentsOf: #","status":"#.utf8)
        CanonicalJSON.append(quoted: status, to: &out)
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }
}
