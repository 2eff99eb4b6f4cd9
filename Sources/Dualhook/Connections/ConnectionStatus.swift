/// A connection's life: `active` while Meta routes its number to the tenant; `suspended` while
/// a Coexistence number is offboarded from the WhatsApp Business app (Meta's
/// `ACCOUNT_OFFBOARDED`, temporary until `ACCOUNT_RECONNECTED`); `disconnected` for good.
enum ConnectionStatus: String, Sendable, CaseIterable {
    case active
    case suspended
    case disconnected

    /// The statuses a connection may move to this one from: the store's transitions select
    /// rows by these, so a move the machine does not allow matches no row.
    var predecessors: [String] {
        switch self {
        case .active: [ConnectionStatus.suspended.rawValue]
        case .suspended: [ConnectionStatus.active.rawValue]
        case .disconnected: [ConnectionStatus.active.rawValue, ConnectionStatus.suspended.rawValue]
        }
    }

    /// Statuses in which the number is still the tenant's: no one else may connect it.
    static let live: [ConnectionStatus] = [.active, .suspended]
}

/// Why a connection ended (`connection.disconnected`'s `reason`).
enum DisconnectReason: String, Sendable, Codable {
    case api
    case accountBanned = "account_banned"
    case partnerRemoved = "partner_removed"
    case partnerAppUninstalled = "partner_app_uninstalled"
    case accountDeleted = "account_deleted"
    case tokenRevoked = "token_revoked"
    case tokenExpired = "token_expired"
}
