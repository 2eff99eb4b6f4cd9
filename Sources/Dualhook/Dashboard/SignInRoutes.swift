import Crypto
import Foundation
import HTTPServer
import Postgres

/// Signing in: the one-time link that sets a password, the password form, the TOTP step, and
/// signing out.
enum SignInRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/dashboard/sign-in/{token}", RouteEntry(.dashboard, setPasswordForm))
        router.add("POST", "/dashboard/sign-in/{token}", RouteEntry(.dashboard, setPassword))
        router.add("GET", "/dashboard/login", RouteEntry(.dashboard, loginForm))
        router.add("POST", "/dashboard/login", RouteEntry(.dashboard, login))
        router.add("GET", "/dashboard/login/totp", RouteEntry(.dashboard, totpForm))
        router.add("POST", "/dashboard/login/totp", RouteEntry(.dashboard, totp))
        router.add("POST", "/dashboard/logout", RouteEntry(.dashboard, logout))
    }

    static func secure(_ context: APIContext) -> Bool { context.configuration.publicURL.hasPrefix("https://") }

    static let minimumPasswordLength = 12

    static func setPasswordForm(_ context: APIContext) throws -> Response {
        let token = context.request.parameters["token"] ?? ""
        guard let user = try UserStore.linkOwner(token: token, on: context.connection) else {
            throw APIError(status: 410, code: "session_expired", message: "This sign-in link was used already or has expired. Ask for a new one.")
        }
        let csrf = PreSessionCSRF.token(context.request, secure: secure(context))
        return DashboardLayout.plain("Choose a password", body: """
            <section><p>For \(user.email). At least \(minimumPasswordLength) characters.</p>
            <form method="post">\(DashboardLayout.csrfField(context.session?.csrfToken ?? csrf.token))
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(minimumPasswordLength)">
            <label for="confirm">Password again</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
            <p><button type="submit" id="save">Save and sign in</button></p></form></section>
            """, setCookie: csrf.setCookie)
    }

    static func setPassword(_ context: APIContext) throws -> Response {
        let token = context.request.parameters["token"] ?? ""
        let form = Form(context.request.body)
        guard let user = try UserStore.linkOwner(token: token, on: context.connection) else {
            throw APIError(status: 410, code: "session_expired", message: "This sign-in link was used already or has expired. Ask for a new one.")
        }
        let password = form["password"] ?? ""
        guard password.count >= minimumPasswordLength, password.count <= 1024 else {
            throw APIError.validationFailed(param: "password", "The password must be \(minimumPasswordLength) to 1,024 characters.")
        }
        guard !password.allSatisfy(\.isWhitespace) else {
            throw APIError.validationFailed(param: "password", "The password must hold more than spaces.")
        }
        guard password == form["confirm"] else { throw APIError.validationFailed(param: "confirm", "The two passwords differ.") }
        try UserStore.setPassword(token: token, userID: user.id, password: password, on: context.connection)
        try AuditTrail.record("user.password_set", target: user.id, accountID: user.accountID, user: user, clientIP: context.request.clientIP,
                              on: context.connection)
        let session = try DashboardSessions.open(userID: user.id, secondFactorDone: !user.totpEnabled, on: context.connection)
        return DashboardLayout.redirect(user.totpEnabled ? "/dashboard/login/totp" : home(user),
                                        setCookies: [DashboardSessions.cookie(session, secure: secure(context))])
    }

    static func home(_ user: DashboardUser) -> String { user.isOperator ? "/ops" : "/dashboard" }

    static func loginForm(_ context: APIContext) throws -> Response {
        if let session = context.session, session.secondFactorDone { return DashboardLayout.redirect(home(session.user)) }
        let csrf = PreSessionCSRF.token(context.request, secure: secure(context))
        return DashboardLayout.plain("Sign in", body: """
            <section><form method="post" action="/dashboard/login">\(DashboardLayout.csrfField(context.session?.csrfToken ?? csrf.token))
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <p><button type="submit" id="sign-in">Sign in</button></p></form></section>
            """, setCookie: csrf.setCookie)
    }

    static func login(_ context: APIContext) throws -> Response {
        let form = Form(context.request.body)
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let ip = context.request.clientIP
        // Answered, not thrown: the transaction commits, and with it the attempt's count.
        if try SignInLimits.take(address: ip, email: email, on: context.connection) {
            return SignInLimits.refused(DashboardLayout.errorPage(status: 429, message: "Too many sign-in attempts. Wait a minute and try again."))
        }
        guard let user = try UserStore.authenticate(email: email, password: form["password"] ?? "", on: context.connection) else {
            return DashboardLayout.errorPage(status: 401, message: "The email or the password is wrong.")
        }
        try SignInLimits.giveBack(address: ip, email: email, on: context.connection)
        if let old = context.session { try DashboardSessions.revoke(old, on: context.connection) }
        let token = try DashboardSessions.open(userID: user.id, secondFactorDone: !user.totpEnabled, on: context.connection)
        return DashboardLayout.redirect(user.totpEnabled ? "/dashboard/login/totp" : home(user),
                                        setCookies: [DashboardSessions.cookie(token, secure: secure(context))])
    }

    static func totpForm(_ context: APIContext) throws -> Response {
        guard let session = context.session else { return DashboardLayout.redirect("/dashboard/login") }
        if session.secondFactorDone { return DashboardLayout.redirect(home(session.user)) }
        return DashboardLayout.plain("Enter your code", body: """
            <section><p>The 6-digit code from your authenticator app, or one of your recovery codes.</p>
            <form method="post" action="/dashboard/login/totp">\(DashboardLayout.csrfField(session.csrfToken))
            <label for="totp">Code</label><input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" required>
            <p><button type="submit" id="verify">Verify</button></p></form></section>
            """)
    }

    static func totp(_ context: APIContext) throws -> Response {
        guard let session = context.session else { return DashboardLayout.redirect("/dashboard/login") }
        let ip = context.request.clientIP
        if try SignInLimits.take(address: ip, email: session.user.email, on: context.connection) {
            return SignInLimits.refused(DashboardLayout.errorPage(status: 429, message: "Too many attempts. Wait a minute and try again."))
        }
        let code = Form(context.request.body)["totp"] ?? ""
        guard try UserStore.verifySecondFactor(userID: session.user.id, code: code, vault: context.configuration.vault, on: context.connection) else {
            return DashboardLayout.errorPage(status: 401, message: "That code is not right. Codes change every 30 seconds.")
        }
        try SignInLimits.giveBack(address: ip, email: session.user.email, on: context.connection)
        try DashboardSessions.completeSecondFactor(session, on: context.connection)
        return DashboardLayout.redirect(home(session.user))
    }

    static func logout(_ context: APIContext) throws -> Response {
        if let session = context.session { try DashboardSessions.revoke(session, on: context.connection) }
        return DashboardLayout.redirect("/dashboard/login", setCookies: [DashboardSessions.clearedCookie(secure: secure(context))])
    }
}
