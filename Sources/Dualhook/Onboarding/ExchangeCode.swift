import Foundation

/// The code exchange queued by `POST /onboard/{token}/complete` on the `onboarding` queue
/// (Meta's code lives 30 s). The code travels sealed, bound to its session.
enum ExchangeCode {
    static let kind = "onboarding.exchange_code"
    static let queue = "onboarding"
    static let timeout: TimeInterval = 25
    static let maxAttempts = 3

    struct Args: Codable {
        let sessionId: String
        let sealedCode: String
        let wabaId: String
        let phoneNumberId: String?
        let businessId: String?
    }

    static func associatedData(sessionID: String) -> String { "session:\(sessionID):code" }
}
