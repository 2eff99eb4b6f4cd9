import Foundation
import Synchronization

/// Request counts by route, method and status, and latency histograms by route, in
/// Prometheus text format.
public final class HTTPMetrics: Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: HTTPMetrics.buckets.count)
        var sum = 0.0
        var total = 0
    }

    private struct State {
        var requests: [String: Int] = [:]
        var latency: [String: Histogram] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    func record(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests["route=\"\(route)\",method=\"\(method)\",status=\"\(status)\"", default: 0] += 1
            var h = s.latency[route] ?? Histogram()
            for (i, bound) in HTTPMetrics.buckets.enumerated() where seconds <= bound { h.counts[i] += 1 }
            h.sum += seconds
            h.total += 1
            s.latency[route] = h
        }
    }

    public func render() -> String {
        state.withLock { s in
            var out = "# HELP dualhook_http_requests_total HTTP requests by route, method and status.\n"
            out += "# TYPE dualhook_http_requests_total counter\n"
            for (labels, n) in s.requests.sorted(by: { $0.key < $1.key }) {
                out += "dualhook_http_requests_total{\(labels)} \(n)\n"
            }
            out += "# HELP dualhook_http_request_duration_seconds Request latency by route.\n"
            out += "# TYPE dualhook_http_request_duration_seconds histogram\n"
            for (route, h) in s.latency.sorted(by: { $0.key < $1.key }) {
                for (i, bound) in HTTPMetrics.buckets.enumerated() {
                    out += "dualhook_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(h.counts[i])\n"
                }
                out += "dualhook_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(h.total)\n"
                out += "dualhook_http_request_duration_seconds_sum{route=\"\(route)\"} \(h.sum)\n"
                out += "dualhook_http_request_duration_seconds_count{route=\"\(route)\"} \(h.total)\n"
            }
            return out
        }
    }
}
