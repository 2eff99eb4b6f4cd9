import Foundation
import HTTPServer

/// Who may see a page: an account's users see their account (viewers only look), operators
/// see the console. Anyone else is sent to sign in; the other side's pages answer 404.
enum DashboardAccess {
    /// Not signed in, or the second factor is still missing: PageErrors sends them to sign in.
    struct SignInRequired: Error {}

    /// An account user's session; `changing` refuses viewers.
    static func member(_ context: APIContext, changing: Bool = false) throws -> (session: DashboardSessions.Session, accountID: String) {
        guard let session = context.session, session.secondFactorDone else { throw SignInRequired() }
        guard let accountID = session.user.accountID else { throw APIError.notFound("page") }
        if changing, session.user.role?.canChange != true {
            throw APIError(status: 403, code: "forbidden", message: "Viewers can look but not change anything. Ask an owner or admin.")
        }
        return (session, accountID)
    }

    /// Anyone signed in with their second factor (their own settings).
    static func signedIn(_ context: APIContext) throws -> DashboardSessions.Session {
        guard let session = context.session, session.secondFactorDone else { throw SignInRequired() }
        return session
    }

    /// An operator's session; an account user gets 404, as if the console did not exist.
    static func `operator`(_ context: APIContext) throws -> DashboardSessions.Session {
        guard let session = context.session, session.secondFactorDone else { throw SignInRequired() }
        guard session.user.isOperator else { throw APIError.notFound("page") }
        return session
    }
}
