import Foundation

/// What the simulator remembers, shaped like Meta's own objects.
struct FakeMetaState: Sendable {
    struct Code: Sendable {
        let wabaID: String
        let businessID: String
        let issuedAt: Date
        var used: Bool
    }

    struct Phone: Sendable {
        let id: String
        let wabaID: String
        var displayPhoneNumber: String
        var verifiedName: String
        var qualityRating: String = "GREEN"
        var healthStatus: String = "AVAILABLE"
        var messagingLimitTier: String = "TIER_1K"
        var mode: String
        var registered = false
        var pin: String?
        var syncRequests: [String] = []
    }

    struct WABA: Sendable {
        let id: String
        var subscribed = false
        var overrideCallbackURI: String?
        var overrideVerifyToken: String?
        var phoneIDs: [String] = []
    }

    struct Fault: Sendable {
        let match: String
        let status: Int
        let body: Data?
        var times: Int
        let delayMs: Int
    }

    struct Call: Sendable {
        let method: String
        let path: String
        let at: Date
    }

    /// What `/_fake/receiver` was sent.
    struct Received: Sendable {
        let path: String
        let at: Date
        let event: String?
        let body: String
    }

    var codes: [String: Code] = [:]
    var tokens: [String: String] = [:]  // token → WABA id
    var wabas: [String: WABA] = [:]
    var phones: [String: Phone] = [:]
    var faults: [Fault] = []
    var calls: [Call] = []
    var received: [Received] = []
    var nextID: Int = 100_000_000_000_000

    mutating func makeID() -> String {
        nextID += Int.random(in: 1...999)
        return String(nextID)
    }
}
