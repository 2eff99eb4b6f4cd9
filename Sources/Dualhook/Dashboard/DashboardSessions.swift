import Crypto
import Foundation
import Postgres

/// Cookie sessions kept in Postgres (`dashboard_sessions`, whose only writer this is): the
/// cookie holds a random token and the table its hash, with a CSRF token for the session's
/// forms. A session ends after 30 minutes idle or 12 hours in all, on sign-out, and when its
/// user's password changes or the user is disabled.
enum DashboardSessions {
    static let cookieName = "dh_session"
    static let idleTimeout: TimeInterval = 30 * 60
    static let absoluteLifetime: TimeInterval = 12 * 3600

    struct Session: Sendable {
        let tokenHash: Data
        let user: DashboardUser
        let csrfToken: String
        /// False between the password and the TOTP code.
        let secondFactorDone: Bool
    }

    /// Starts a session; answers the cookie's token.
    static func open(userID: String, secondFactorDone: Bool, on tx: Connection) throws -> String {
        let token = SecureRandom.base62(43)
        try tx.sql("""
            INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, second_factor_done, expires_at)
            VALUES (\(Digest.sha256(token)), \(userID), \(SecureRandom.base62(32)), \(secondFactorDone),
                    now() + make_interval(secs => \(absoluteLifetime)))
            """)
        return token
    }

    /// The live session the cookie names; touching it keeps it from idling out.
    static func find(token: String, on connection: Connection) throws -> Session? {
        guard !token.isEmpty else { return nil }
        let hash = Digest.sha256(token)
        guard let row = try connection.sql("""
            UPDATE dashboard_sessions s SET last_seen_at = now()
            FROM users u
            WHERE s.token_hash = \(hash) AND u.id = s.user_id AND s.revoked_at IS NULL AND s.expires_at > now()
              AND s.last_seen_at > now() - make_interval(secs => \(idleTimeout)) AND u.disabled_at IS NULL
            RETURNING \(unescaped: DashboardUser.columns), s.csrf_token, s.second_factor_done
            """).first else { return nil }
        return Session(tokenHash: hash, user: try DashboardUser(row: row), csrfToken: try row.decode(at: 5),
                       secondFactorDone: try row.decode(at: 6))
    }

    /// Whether `token` (a form's `once` field) is posted for the first time in this session.
    /// A form without one (posted by a page from before the field existed) counts as first.
    static func firstUse(of token: String?, in session: Session, on tx: Connection) throws -> Bool {
        guard let token, !token.isEmpty else { return true }
        return try tx.sql("""
            INSERT INTO dashboard_form_uses (session_hash, token) VALUES (\(session.tokenHash), \(String(token.prefix(64))))
            ON CONFLICT DO NOTHING RETURNING 1
            """).first != nil
    }

    /// The authenticator key offered to this session (sealed), kept until it is confirmed.
    /// Two loads at once keep the same one: the first write wins.
    static func pendingTOTP(_ session: Session, offering fresh: () throws -> String, on connection: Connection) throws -> String {
        if let kept = try storedPendingTOTP(session, on: connection) { return kept }
        return try connection.sql("""
            UPDATE dashboard_sessions SET totp_pending = COALESCE(totp_pending, \(try fresh()))
            WHERE token_hash = \(session.tokenHash) RETURNING totp_pending
            """).scalar(String.self) ?? ""
    }

    /// The key this session was offered, if any.
    static func storedPendingTOTP(_ session: Session, on connection: Connection) throws -> String? {
        try connection.sql("SELECT totp_pending FROM dashboard_sessions WHERE token_hash = \(session.tokenHash)").scalar(String?.self) ?? nil
    }

    /// Every session of the user forgets the key it was offered (two-step sign-in is on).
    static func clearPendingTOTP(_ session: Session, on tx: Connection) throws {
        try tx.sql("UPDATE dashboard_sessions SET totp_pending = NULL WHERE user_id = \(session.user.id) AND totp_pending IS NOT NULL")
    }

    static func completeSecondFactor(_ session: Session, on tx: Connection) throws {
        try tx.sql("UPDATE dashboard_sessions SET second_factor_done = true WHERE token_hash = \(session.tokenHash)")
    }

    static func revoke(_ session: Session, on tx: Connection) throws {
        try tx.sql("UPDATE dashboard_sessions SET revoked_at = now() WHERE token_hash = \(session.tokenHash)")
    }

    static func revokeAll(userID: String, on tx: Connection) throws {
        try tx.sql("UPDATE dashboard_sessions SET revoked_at = now() WHERE user_id = \(userID) AND revoked_at IS NULL")
    }

    /// `Set-Cookie` for a session token (`Secure` when the public URL is https).
    static func cookie(_ token: String, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(Int(absoluteLifetime))" + (secure ? "; Secure" : "")
    }

    static func clearedCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" + (secure ? "; Secure" : "")
    }
}
