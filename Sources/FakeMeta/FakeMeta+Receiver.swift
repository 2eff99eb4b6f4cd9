import Foundation
import HTTPServer

/// `/_fake/receiver/…`: in development, a stand-in for the servers of the SaaS and its tenant,
/// so a whole onboarding can be clicked through on one machine. It passes Meta's verification
/// handshake for any verify token (a real tenant checks its own), shows the page a redirect
/// lands on, and accepts POSTs (events, forwarded webhooks), keeping the last 100 in
/// `/_fake/state` under `received`.
extension FakeMeta {
    func receiver(_ request: Request) -> Response {
        if request.method == "GET", request.query["hub.mode"] == "subscribe", let challenge = request.query["hub.challenge"] {
            return .text(200, challenge)
        }
        if request.method == "POST" {
            state.withLock { s in
                s.received.append(.init(path: request.path, at: Date(), event: request.header("X-Dualhook-Event"),
                                        body: String(decoding: request.body.prefix(2048), as: UTF8.self)))
                if s.received.count > 100 { s.received.removeFirst(s.received.count - 100) }
            }
            return .json(200, ["received": true])
        }
        let rows = request.query.sorted { $0.key < $1.key }
            .map { "<tr><th scope=\"row\">\(FakeMeta.escape($0.key))</th><td>\(FakeMeta.escape($0.value))</td></tr>" }.joined()
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Back at the SaaS (simulated)</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem}th{text-align:left;padding-right:1rem}</style></head>
            <body><h1>Back at the SaaS</h1><p>The onboarding page sent the browser to <code>\(FakeMeta.escape(request.path))</code> with:</p>
            <table>\(rows)</table><p><small>Simulated by <code>dualhook fake-meta</code>.</small></p></body></html>
            """
        return Response(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Data(html.utf8))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
