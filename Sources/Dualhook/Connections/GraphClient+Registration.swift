import Foundation
import Logging
import Meta

extension GraphClient {
    /// Registers a Cloud API number with the PIN Dualhook keeps for it. A number whose business
    /// turned on two-step verification with a PIN of its own refuses that PIN (133005). Meta, on
    /// `pin`: "If your verified business phone number already has two-step verification enabled,
    /// set this value to your number's 6-digit two-step verification PIN. If you cannot recall
    /// your PIN, you can update it"
    /// (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/registration), and
    /// "There is no endpoint to disable two-step verification"
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/two-step-verification/).
    /// The business's PIN cannot be known here, so the number's PIN is updated to the kept one
    /// and registration tried again: the number connects instead of failing its onboarding, its
    /// PIN is then the one `reveal-secrets` gives as `registration_pin`, and the business can
    /// set another in WhatsApp Manager.
    /// Returns whether the number's own PIN was replaced, which the account is told
    /// (`twoStepPinReplaced`): the business finds a PIN it did not choose in WhatsApp Manager.
    @discardableResult
    func registerKeepingPIN(phone: String, pin: String, token: String, deadline: Date, logger: Logger) throws -> Bool {
        do {
            try register(phone: phone, pin: pin, token: token, deadline: deadline)
            return false
        } catch let error as GraphError where error.isTwoStepPINMismatch {
            try updatePINRetryingBlips(phone: phone, pin: pin, token: token, deadline: deadline)
            logger.info("the number had a two-step verification PIN of its own: it is now the kept PIN", ["phone_number_id": phone])
            try register(phone: phone, pin: pin, token: token, deadline: deadline)
            return true
        }
    }

    /// The PIN update, tried again in place after a passing fault (a 5xx, Meta's unknown
    /// error), twice at most and within the deadline: the job's own retry would first register
    /// again, spending one of the number's 10 registrations in 72 hours on a refusal already
    /// known. A throttled call is left to the job, which waits as Meta says.
    private func updatePINRetryingBlips(phone: String, pin: String, token: String, deadline: Date) throws {
        var pause: TimeInterval = 1
        while true {
            do {
                return try setTwoStepPIN(phone: phone, pin: pin, token: token, deadline: deadline)
            } catch let error as GraphError where error.isTransient && !error.isRateLimited && pause <= 2
                        && Date().addingTimeInterval(pause + 5) < deadline {
                Thread.sleep(forTimeInterval: pause)
                pause *= 2
            }
        }
    }
}
