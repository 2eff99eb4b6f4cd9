import Crypto
import Foundation
import HTTPServer

/// The frame of every dashboard and console page: server-drawn HTML from `HTML` (escaping by
/// construction), one stylesheet under a per-answer nonce, no script and no external asset,
/// readable at phone width.
enum DashboardLayout {
    static let style = """
        *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1c1e21;background:#f5f6f8}
        header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#fff;border-bottom:1px solid #dde1e6}
        header.top strong{margin-right:auto}header.top nav{display:flex;flex-wrap:wrap;gap:.2rem .8rem}
        a{color:#0b57d0}nav a.here{font-weight:700;text-decoration:none;color:#1c1e21}
        main{max-width:72rem;margin:0 auto;padding:1rem}section{background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:1rem;margin:0 0 1rem}
        h1{font-size:1.4rem;margin:.3rem 0 1rem}h2{font-size:1.1rem;margin:0 0 .6rem}
        table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef0f3;vertical-align:top}
        th{background:#f8f9fa;font-weight:600}td{overflow-wrap:anywhere}.scroll{overflow-x:auto}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.8rem}.card{background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:.8rem}
        .card b{display:block;font-size:1.6rem}.bad{color:#b3261e}.ok{color:#146c2e}.muted{color:#5f6368}
        form.inline{display:inline}label{display:block;margin:.4rem 0 .15rem;font-weight:600}
        input,select{font:inherit;padding:.45rem .55rem;border:1px solid #b8bec6;border-radius:6px;max-width:100%}
        button{font:inherit;font-weight:600;padding:.45rem .9rem;border:0;border-radius:6px;background:#1565c0;color:#fff;cursor:pointer;white-space:nowrap}
        button.danger{background:#b3261e}button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #0b3d91;outline-offset:2px}
        .notice{background:#e8f0fe;border:1px solid #c4d7fb;border-radius:8px;padding:.7rem;margin-bottom:1rem}
        .problem{background:#fdecea;border:1px solid #f5c2c0;border-radius:8px;padding:.7rem;margin-bottom:1rem}
        .secret{font:14px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all;background:#fff8e1;padding:.5rem;border-radius:6px}
        svg text{font:11px system-ui,sans-serif;fill:#3c4043}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}code,h1,.secret-uri{overflow-wrap:anywhere}
        svg.funnel{min-width:36rem}
        @media (max-width:40rem){th,td{padding:.3rem}main{padding:.6rem}}
        """

    /// A signed-in page: the account's or the console's navigation, then `body`.
    static func page(_ title: String, session: DashboardSessions.Session, here: String, body: HTML, status: Int = 200) -> Response {
        let links: [(String, String)] = session.user.isOperator
            ? [("/ops", "Queues"), ("/ops/jobs", "Jobs"), ("/ops/sweeps", "Sweeps"), ("/ops/accounts", "Accounts"),
               ("/dashboard/settings", "Settings")]
            : [("/dashboard", "Overview"), ("/dashboard/connections", "Connections"), ("/dashboard/sessions", "Onboarding"),
               ("/dashboard/events", "Events"), ("/dashboard/keys", "API keys"), ("/dashboard/settings", "Settings"),
               ("/dashboard/usage", "Usage"), ("/dashboard/audit", "Audit trail")]
        let nav = links.map { link -> HTML in
            link.0 == here ? "<a class=\"here\" href=\"\(link.0)\" aria-current=\"page\">\(link.1)</a>" : "<a href=\"\(link.0)\">\(link.1)</a>"
        }
        let who = "\(session.user.email)" + (session.user.role.map { " · \($0.rawValue)" } ?? " · operator")
        let chrome: HTML = """
            <header class="top"><strong>Dualhook</strong><nav>\(nav)</nav>
            <span class="muted">\(who)</span>
            <form class="inline" method="post" action="/dashboard/logout">\(csrfField(session.csrfToken))<button type="submit">Sign out</button></form>
            </header><main><h1>\(title)</h1>\(body)</main>
            """
        return document(title: title, body: chrome, status: status)
    }

    /// A page with no one signed in (sign-in, set a password, errors).
    static func plain(_ title: String, body: HTML, status: Int = 200, setCookie: String? = nil) -> Response {
        var response = document(title: title, body: "<main><h1>\(title)</h1>\(body)</main>", status: status)
        if let setCookie { response.headers.append(("Set-Cookie", setCookie)) }
        return response
    }

    static func errorPage(status: Int, message: String) -> Response {
        let titles = [400: "Check what you entered", 401: "Sign-in failed", 402: "A plan is needed", 403: "Not allowed", 404: "Not found",
                      409: "Not possible now", 410: "This link is no longer valid", 429: "Too many attempts"]
        return plain(titles[status] ?? "Something went wrong", body: "<section><p>\(message)</p><p><a href=\"/dashboard\">Back</a></p></section>",
                     status: status)
    }

    /// What an action did, by the code its redirect carries (`?done=`): fixed words, never the
    /// URL's own text.
    static func notice(_ code: String?) -> HTML {
        let messages = ["health": "Health is being read from Meta.", "webhook": "The change is being applied at Meta.",
                        "heartbeat": "Heartbeat confirmed.", "disconnect": "Disconnecting.", "redeliver": "Delivering again.",
                        "enable": "Enabled: its held events are going out.",
                        "disable": "Disabled: its events are held until it is enabled.",
                        "test": "Test event sent: its attempt shows below once it is made."]
        guard let code, let message = messages[code] else { return "" }
        return "<div class=\"notice\" role=\"status\">\(message)</div>"
    }

    /// Why a form was refused as entered, above the form shown again with what was typed. A
    /// verify token typed is a secret, never written back: `tokenTyped` asks for it again.
    static func problem(_ message: String, tokenTyped: Bool) -> HTML {
        let again = tokenTyped ? " Enter the verify token again: it is not shown." : ""
        return "<div class=\"problem\" role=\"alert\" id=\"form-problem\">\(message + again)</div>"
    }

    static func csrfField(_ token: String) -> HTML { "<input type=\"hidden\" name=\"csrfToken\" value=\"\(token)\">" }

    /// A form's `once` token (`DashboardSessions.firstUse`): a reload that posts the form again
    /// changes nothing.
    static func onceField() -> HTML { "<input type=\"hidden\" name=\"once\" value=\"\(SecureRandom.base62(22))\">" }

    static func document(title: String, body: HTML, status: Int) -> Response {
        let nonce = SecureRandom.base62(24)
        let html: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
            <title>\(title) · Dualhook</title><style nonce="\(nonce)">\(HTML(stringLiteral: style))</style></head>
            <body>\(body)</body></html>
            """
        return Response(status: status, headers: [
            ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'nonce-\(nonce)'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"),
        ], body: Data(html.rendered.utf8))
    }

    /// 303 to `location` after a form POST.
    static func redirect(_ location: String, setCookies: [String] = []) -> Response {
        var response = Response(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")])
        for cookie in setCookies { response.headers.append(("Set-Cookie", cookie)) }
        return response
    }
}
