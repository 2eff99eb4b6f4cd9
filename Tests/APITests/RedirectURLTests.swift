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
        // The account's own pairs keep their bytes: `%2B` is not turned into a `+` (a space to most readers).
        #expect(OnboardingSession.url("https://app.example.com/done?email=a%2Bb%40c.com&q=%2b&a=1;b=2&next=%2Fp%3Fz&sig=x+y&%73tatus=1",
                                      ["sessionId": "ses_3", "status": "completed"])
                == "https://app.example.com/done?email=a%2Bb%40c.com&q=%2b&a=1;b=2&next=%2Fp%3Fz&sig=x+y&sessionId=ses_3&status=completed")
        #expect(OnboardingSession.url("https://app.example.com/done?", ["sessionId": "ses_4", "status": "completed"])
                == "https://app.example.com/done?sessionId=ses_4&status=completed")
        #expect(OnboardingSession.url("https://app.example.com/error#frag", ["sessionId": "ses_5", "status": "failed", "reason": "a b&c"])
                == "https://app.example.com/error?sessionId=ses_5&status=failed&reason=a%20b%26c#frag")
    }
}
