import Crypto
import Synchronization

/// Signing secrets a worker has opened, by owner and sealed text. A sealed text opens to the
/// same secret every time, so each is opened once instead of on every delivery: an AES-GCM
/// open per secret per delivery was 7 % of the worker's samples under `ops/bench/events`.
/// Which secrets are valid is still read from the database for every delivery; a rotated or
/// revoked one is no longer asked for, and its entry goes when the cache is next emptied.
/// Bounded: emptied whenever it would grow past `limit` entries.
final class OpenedSecrets: Sendable {
    private let opened = Mutex<[String: String]>([:])
    let limit: Int

    init(limit: Int = 10_000) { self.limit = limit }

    func open(_ sealed: String, associatedData: String, vault: Vault) throws -> String {
        let key = associatedData + "\u{1}" + sealed
        if let secret = opened.withLock({ $0[key] }) { return secret }
        let secret = try vault.openText(sealed, associatedData: associatedData)
        opened.withLock { cache in
            if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
            cache[key] = secret
        }
        return secret
    }

    var count: Int { opened.withLock { $0.count } }
}
