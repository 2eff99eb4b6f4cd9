import HTTPServer
import Logging
import Postgres

/// The outermost step: every error becomes the envelope of API.md, and every answer of an
/// authenticated request, refused ones included, carries its rate-limit headers and account.
struct ErrorMapping: Middleware {
    private static let logger = Logger(label: "api")

    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        var response: Response
        do {
            response = try next(request, &context)
        } catch let error as APIError {
            response = error.response(requestID: request.requestID)
        } catch let error as PostgresError where error.kind == .invalidParameter {
            response = APIError.nulInValue.response(requestID: request.requestID)
        } catch let error as PostgresError where error.isConnectivity {
            // The error's description is the server's or libpq's message, never a row's values.
            Self.logger.warning("database unreachable while serving a request", ["request_id": request.requestID, "error": "\(error)"])
            return APIError.unavailable().response(requestID: request.requestID)
        } catch {
            Self.logger.error("request failed", ["request_id": request.requestID, "error": "\(error)"])
            response = APIError.internalError.response(requestID: request.requestID)
        }
        context.window?.apply(to: &response)
        response.accountID = context.caller?.accountID
        return response
    }
}
