import Crypto
import Foundation
import HTTPServer
import Logging
import Postgres

/// Errors as pages: the dashboard answers people, not programs.
struct PageErrors: Middleware {
    private static let logger = Logger(label: "dashboard")

    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        do {
            return try next(request, &context)
        } catch is DashboardAccess.SignInRequired {
            return DashboardLayout.redirect(context.session == nil ? "/dashboard/login" : "/dashboard/login/totp")
        } catch let error as APIError {
            return DashboardLayout.errorPage(status: error.status, message: error.message)
        } catch let error as PostgresError where error.kind == .invalidParameter {
            return DashboardLayout.errorPage(status: 400, message: APIError.nulInValue.message)
        } catch let error as PostgresError where error.isConnectivity {
            return DashboardLayout.errorPage(status: 503, message: "The database cannot be reached. Try again in a moment.")
        } catch {
            Self.logger.error("dashboard request failed", ["request_id": request.requestID, "error": "\(error)"])
            return DashboardLayout.errorPage(status: 500, message: "Something went wrong on our side (request \(request.requestID)).")
        }
    }
}

/// Forms post `application/x-www-form-urlencoded`; nothing else is read.
struct FormBodyOnly: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        if !request.body.isEmpty {
            let type = request.header("Content-Type")?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/x-www-form-urlencoded" else { throw APIError.unsupportedMediaType }
        }
        return try next(request, &context)
    }
}

/// Finds the session the cookie names, and refuses a POST whose form does not carry the CSRF
/// token: the session's once signed in, the `dh_csrf` cookie's before (double submit).
struct DashboardSignIn: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        guard let connection = context.connection else { preconditionFailure("DashboardSignIn runs inside PooledConnection") }
        let cookies = Cookies(request)
        context.session = try cookies[DashboardSessions.cookieName].flatMap { try DashboardSessions.find(token: $0, on: connection) }
        if request.method == "POST" {
            let expected = context.session?.csrfToken ?? cookies[PreSessionCSRF.cookieName] ?? ""
            let sent = Form(request.body)["csrfToken"] ?? ""
            guard !expected.isEmpty, ConstantTime.equals(Data(sent.utf8), Data(expected.utf8)) else {
                throw APIError(status: 403, code: "forbidden", message: "This form has expired or did not come from this site. Go back, reload and try again.")
            }
        }
        return try next(request, &context)
    }
}

/// A form's fields, `+` and percent-escapes decoded.
struct Form {
    let fields: [String: String]

    init(_ body: Data) {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first.map(decode), !name.isEmpty else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        self.fields = fields
    }

    subscript(_ name: String) -> String? { fields[name] }
}

/// The request's cookies by name.
struct Cookies {
    let values: [String: String]

    init(_ request: Request) {
        var values: [String: String] = [:]
        for part in (request.header("Cookie") ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            values[pair[0].trimmingCharacters(in: .whitespaces)] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        self.values = values
    }

    subscript(_ name: String) -> String? { values[name] }
}

/// The CSRF token of forms shown before anyone is signed in (sign-in, set a password): the
/// same random value in a cookie and in the form.
enum PreSessionCSRF {
    static let cookieName = "dh_csrf"

    /// The request's token, or a new one with the `Set-Cookie` that carries it.
    static func token(_ request: Request, secure: Bool) -> (token: String, setCookie: String?) {
        if let existing = Cookies(request)[cookieName], existing.count >= 32 { return (existing, nil) }
        let token = SecureRandom.base62(32)
        return (token, "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : ""))
    }
}
