import Foundation
import Logging

/// One JSON line per request on standard error: method, route pattern, status, duration,
/// request id and account id. Never a header value, a query string or a body.
enum AccessLog {
    static func write(method: String, route: String, status: Int, seconds: Double, requestID: String, accountID: String?) {
        var line = "{\"ts\":\"\(Response.timestamp(Date()))\",\"type\":\"access\",\"method\":\(quote(method)),"
        line += "\"route\":\(quote(route)),\"status\":\(status),\"durationMs\":\(String(format: "%.2f", seconds * 1000)),"
        line += "\"requestId\":\(quote(requestID)),\"accountId\":\(accountID.map(quote) ?? "null")}\n"
        Logger.writeRaw(line)
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
