import Foundation
import Postgres

/// Someone signed in to the dashboard or the operator console.
struct DashboardUser: Sendable {
    enum Role: String, Sendable, CaseIterable {
        case owner, admin, viewer

        /// Owners and admins change things; viewers only look.
        var canChange: Bool { self != .viewer }
    }

    let id: String
    let email: String
    /// nil for an operator.
    let accountID: String?
    let role: Role?
    let totpEnabled: Bool

    var isOperator: Bool { accountID == nil }

    static let columns = "u.id, u.email, u.account_id, u.role, u.totp_enabled"

    init(row: Row, at offset: Int = 0) throws {
        id = try row.decode(at: offset)
        email = try row.decode(at: offset + 1)
        accountID = try row.decode(at: offset + 2)
        role = try row.decode(String?.self, at: offset + 3).flatMap(Role.init(rawValue:))
        totpEnabled = try row.decode(at: offset + 4)
    }
}
