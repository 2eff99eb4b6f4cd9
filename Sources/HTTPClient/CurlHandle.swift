import CCurl
import Foundation

/// One curl handle per thread, reset and reused for every call the thread makes: its
/// connection cache keeps connections (and TLS sessions) alive between calls to the same host,
/// which a handle per call would open afresh each time. Options never carry over (reset);
/// connections are keyed by host and port, and every address was checked before it was pinned.
final class CurlHandle {
    let handle: UnsafeMutableRawPointer

    private init(_ handle: UnsafeMutableRawPointer) { self.handle = handle }

    deinit { curl_easy_cleanup(handle) }

    private static let key = "dualhook.HTTPClient.curl"

    /// The calling thread's handle, reset to defaults; freed when the thread ends.
    static func forCurrentThread() -> CurlHandle? {
        let storage = Thread.current.threadDictionary
        if let existing = storage[key] as? CurlHandle {
            curl_easy_reset(existing.handle)
            return existing
        }
        guard let raw = curl_easy_init() else { return nil }
        let created = CurlHandle(raw)
        storage[key] = created
        return created
    }
}
