import CCurl
import Foundation

extension HTTPClient {
    /// Sends several requests at once from the calling thread (curl's multi interface) and
    /// answers one result per request, in order, once every one has ended: each with its own
    /// checks, deadline and bounds, exactly as `send` would run it alone. A worker delivering
    /// many small requests spends one thread and one poll loop on a batch instead of a thread
    /// and its wake-ups per request.
    public func sendAll(_ requests: [Request], deadline: Date) -> [Result<Response, HTTPClientError>] {
        var results = [Result<Response, HTTPClientError>?](repeating: nil, count: requests.count)
        sendAll(requests, deadline: deadline) { answers in
            for (i, result) in answers { results[i] = result }
        }
        return results.map { $0 ?? .failure(.transport("the transfer did not end")) }
    }

    /// Sends several requests at once as `sendAll` does, and gives the answers to `answered` as
    /// they come, in groups, each with its request's index: an answer waits at most `gather`
    /// seconds for others to join its group (all of them when every request has ended), so a
    /// caller acts on the quick answers while a slow one is still awaited, and on many together
    /// when they all come quickly. Every request is answered once before this returns.
    ///
    /// Curl runs on this thread, so nothing is read while `answered` runs: an answer that
    /// arrives meanwhile is read when it returns (its `duration` counts the wait), and a request
    /// whose deadline passes meanwhile has timed out. Requests refused before sending (a bad
    /// URL, a blocked address) are answered with the first group, after every transfer started.
    public func sendAll(_ requests: [Request], deadline: Date, gather: TimeInterval = 0,
                        answered: ([(Int, Result<Response, HTTPClientError>)]) -> Void) {
        guard !requests.isEmpty else { return }
        guard let multi = CurlMulti.forCurrentThread(), let handles = multi.easyHandles(requests.count) else {
            answered(requests.indices.map { ($0, .failure(.transport("curl_multi_init failed"))) })
            return
        }
        var held: [(Int, Result<Response, HTTPClientError>)] = []
        // Every name is looked up first, so that each transfer's timeout is the deadline's time
        // left when it starts, not when its name was checked.
        var resolved: [String: Result<String, HTTPClientError>] = [:]
        var targets: [(Int, Target)] = []
        for (i, request) in requests.enumerated() {
            do { targets.append((i, try check(request, deadline: deadline, resolved: &resolved))) } catch {
                held.append((i, .failure(HTTPClientError.from(error))))
            }
        }
        var transfers: [Int: Transfer] = [:]
        var index: [UnsafeMutableRawPointer: Int] = [:]
        for (i, target) in targets {
            do {
                let transfer = Transfer(handle: handles[i], request: requests[i], target: try target.started(deadline: deadline), client: self)
                let added = curl_multi_add_handle(multi.multi, handles[i])
                guard added == CURLM_OK else { throw HTTPClientError.transport(String(cString: curl_multi_strerror(added))) }
                transfers[i] = transfer
                index[handles[i]] = i
            } catch {
                held.append((i, .failure(HTTPClientError.from(error))))
            }
        }
        var running: Int32 = Int32(transfers.count)
        var heldSince = Date()
        while true {
            var ended: [(Int, Result<Response, HTTPClientError>)] = []
            let performed = transfers.isEmpty ? CURLM_OK : curl_multi_perform(multi.multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi.multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let i = index.removeValue(forKey: easy), let transfer = transfers.removeValue(forKey: i) else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi.multi, easy)
                ended.append((i, Result { try transfer.finish(code) }.mapError(HTTPClientError.from)))
            }
            if performed != CURLM_OK || (running == 0 && left == 0 && !transfers.isEmpty) {
                // The multi handle itself failed (out of memory, say), or curl runs nothing it has
                // not reported: every transfer still open ends here rather than waiting forever.
                let reason = performed != CURLM_OK ? String(cString: curl_multi_strerror(performed)) : "the transfer did not end"
                for (i, transfer) in transfers {
                    curl_multi_remove_handle(multi.multi, transfer.handle)
                    ended.append((i, .failure(.transport(reason))))
                }
                transfers.removeAll()
            }
            if !ended.isEmpty {
                if held.isEmpty { heldSince = Date() }
                held += ended
            }
            let waited = Date().timeIntervalSince(heldSince)
            if !held.isEmpty && (transfers.isEmpty || waited >= gather) {
                answered(held)
                held.removeAll()
            }
            if transfers.isEmpty { return }
            // Each transfer's own timeout ends it; the poll waits for sockets or curl's timers,
            // and no longer than the held answers may wait.
            if running > 0 {
                let wait = held.isEmpty ? 1.0 : min(1.0, max(0.001, gather - waited))
                _ = curl_multi_poll(multi.multi, nil, 0, Int32((wait * 1000).rounded(.up)), nil)
            }
        }
    }
}

extension HTTPClientError {
    /// The client's own errors as they are; anything else (which the client does not throw
    /// today) as a transport error naming its type and message, never a request's URL or body.
    static func from(_ error: any Error) -> HTTPClientError {
        (error as? HTTPClientError) ?? .transport("\(type(of: error)): \(error.localizedDescription)")
    }
}
