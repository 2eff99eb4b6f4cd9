import Crypto
import Foundation
import HTTPServer
import Postgres

/// `/dashboard/settings`: two-step sign-in (TOTP) for oneself, and the account's event
/// signing secret (owners and admins; the new secret is shown once).
enum SettingsPages {
    static func show(_ context: APIContext, notice: HTML = "") throws -> Response {
        let session = try DashboardAccess.signedIn(context)
        let vault = context.configuration.vault
        var totp: HTML
        if session.user.totpEnabled {
            totp = "<p class=\"ok\">Two-step sign-in is on. To move it to another device, ask an operator for a new sign-in link.</p>"
        } else {
            // The secret waits with the session, sealed to this user, until a code proves the app
            // has it: the same key at every load, as the app scanned it once.
            let associated = "user:\(session.user.id):totp-pending"
            let sealed = try DashboardSessions.pendingTOTP(session, offering: {
                try vault.seal(TOTP.newSecret().base64EncodedString(), associatedData: associated)
            }, on: context.connection)
            guard let opened = try? vault.openText(sealed, associatedData: associated), let secret = Data(base64Encoded: opened) else {
                throw APIError(status: 500, code: "internal_error", message: "The pending authenticator key does not open.")
            }
            totp = """
                <p>Add this key to an authenticator app, then enter the code it shows.</p>
                <p class="secret" id="totp-key">\(TOTP.base32(secret))</p>
                <p class="muted secret-uri">\(TOTP.uri(secret: secret, account: session.user.email, issuer: "Dualhook"))</p>
                <form method="post" action="/dashboard/settings/totp">\(DashboardLayout.csrfField(session.csrfToken))
                <input type="hidden" name="pending" value="\(sealed)">
                <label for="code">Code from the app</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
                <p><button type="submit" id="enable-totp">Turn on</button></p></form>
                """
        }
        let rotate: HTML = session.user.role?.canChange == true && !session.user.isOperator ? """
            <section><h2>Event signing secret</h2><p>A new secret signs from now on; the previous one keeps signing for 24 hours.</p>
            <form method="post" action="/dashboard/settings/signing-secret">\(DashboardLayout.csrfField(session.csrfToken))\(DashboardLayout.onceField())
            <label><input type="checkbox" name="confirm" value="yes" required> Rotate the secret</label>
            <button type="submit" id="rotate-secret">Rotate</button></form></section>
            """ : ""
        let body: HTML = "\(notice)<section><h2>Two-step sign-in</h2>\(totp)</section>\(rotate)"
        return DashboardLayout.page("Settings", session: session, here: "/dashboard/settings", body: body)
    }

    static func enableTOTP(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.signedIn(context)
        let account = session.user.accountID
        // A secret in use is not replaced from a page: a live session alone must not move it.
        guard !session.user.totpEnabled else {
            throw APIError(status: 409, code: "conflict", message: "Two-step sign-in is already on.")
        }
        let form = Form(context.request.body)
        let vault = context.configuration.vault
        // The key this session was offered; a page from before keys were kept posts its own.
        guard let sealed = try DashboardSessions.storedPendingTOTP(session, on: context.connection) ?? form["pending"],
              let opened = try? vault.openText(sealed, associatedData: "user:\(session.user.id):totp-pending"),
              let secret = Data(base64Encoded: opened) else {
            throw APIError.validationFailed(param: "pending", "This form has expired; reload the page.")
        }
        guard TOTP.verify(form["code"] ?? "", secret: secret) != nil else {
            throw APIError.validationFailed(param: "code", "That code does not match the key. Check the app's clock and try the next code.")
        }
        let codes = try UserStore.enableTOTP(userID: session.user.id, secret: secret, vault: vault, on: context.connection)
        try DashboardSessions.clearPendingTOTP(session, on: context.connection)
        try AuditTrail.record("user.totp_enabled", target: session.user.id, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        let list = codes.map { "<li><code>\($0)</code></li>" as HTML }
        return DashboardLayout.page("Settings", session: session, here: "/dashboard/settings", body: """
            <div class="notice" role="status"><p>Two-step sign-in is on. Keep these recovery codes somewhere safe; each works once, and they are shown only now.</p>
            <ul id="recovery-codes">\(list)</ul></div>
            """)
    }

    static func rotateSecret(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let form = Form(context.request.body)
        guard form["confirm"] == "yes" else {
            throw APIError.validationFailed(param: "confirm", "Tick the box to confirm the rotation.")
        }
        // Posted again by a reload: the secret shown the first time stays the current one.
        guard try DashboardSessions.firstUse(of: form["once"], in: session, on: context.connection) else {
            return DashboardLayout.redirect("/dashboard/settings")
        }
        let secret = try SigningSecrets.rotate(accountID: account, vault: context.configuration.vault, on: context.connection).secret
        try AuditTrail.record("signing_secret.rotate", target: nil, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return try show(context, notice: """
            <div class="notice" role="status"><p>The new signing secret (shown this once):</p><p class="secret" id="new-secret">\(secret)</p></div>
            """)
    }
}
