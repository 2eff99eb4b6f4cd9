import Foundation
import Testing
@testable import Dualhook

@Suite struct RedirectURLTests {
    /// The account's own query and fragment stay; ours come in API.md's order and replace any
    /// of the same name, so a reader of `status` finds one.
    @Test func ourParametersReplaceTheirNamesakesInTheContractsOrder() {
        let failed = ["sessionId": "ses_1", "status": "failed", "reason": "signup_error"]
        #expect(OnboardingSession.url("https://app.example.com/error", failed)
                == "https://app.example.com/error?sessionId=ses_1&status=failed&reason=signup_error")
        #expect(OnboardingSession.url("https://app.example.com/cancel?from=wa&status=mine#top", ["sessionId": "ses_1", "status": "cancelled"])
                == "https://app.example.com/cancel?from=wa&sessionId=ses_1&status=cancelled#top")
        #expect(OnboardingSession.url("https://app.example.com/done?sessionId=old&x=1", ["sessionId": "ses_2", "status": "completed"])
                == "https://app.example.com/done?x=1&sessionId=ses_2&status=completed")
    }
}
