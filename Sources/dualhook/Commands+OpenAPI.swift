import Dualhook
import Foundation

extension Commands {
    /// The same document `GET /api/v1/openapi.json` serves, without a running server, so a
    /// client generator or a reviewer needs nothing but the binary.
    static func openapi(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: [], flags: [])
        try parsed.expectPositionals(0, "")
        FileHandle.standardOutput.write(OpenAPIDocument.json + Data("\n".utf8))
        return 0
    }
}
