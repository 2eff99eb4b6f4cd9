import CCurl
import Foundation

/// One curl multi handle per thread, with the easy handles it runs, reused for every batch the
/// thread sends (`HTTPClient.sendAll`): the multi handle's connection cache keeps connections
/// to a host alive from one batch to the next, as `CurlHandle` does for single calls.
final class CurlMulti {
    let multi: UnsafeMutableRawPointer
    /// Easy handles, reset before each use; grown to the largest batch seen.
    private var handles: [UnsafeMutableRawPointer] = []

    private init(_ multi: UnsafeMutableRawPointer) { self.multi = multi }

    deinit {
        for handle in handles { curl_easy_cleanup(handle) }
        curl_multi_cleanup(multi)
    }

    private static let key = "dualhook.HTTPClient.curl-multi"

    /// The calling thread's multi handle; freed when the thread ends.
    static func forCurrentThread() -> CurlMulti? {
        let storage = Thread.current.threadDictionary
        if let existing = storage[key] as? CurlMulti { return existing }
        guard let raw = curl_multi_init() else { return nil }
        let created = CurlMulti(raw)
        storage[key] = created
        return created
    }

    /// `count` easy handles reset to their defaults, none of them added to the multi handle.
    func easyHandles(_ count: Int) -> [UnsafeMutableRawPointer]? {
        while handles.count < count {
            guard let handle = curl_easy_init() else { return nil }
            handles.append(handle)
        }
        let taken = Array(handles.prefix(count))
        for handle in taken { curl_easy_reset(handle) }
        return taken
    }
}
