import Foundation
import Logging

extension Environment {
    /// What an operator reading a process's first lines needs to know: the mode, the Meta it
    /// talks to, and which settings fell back to their development values (names only, never a
    /// value). A production process allowed private targets says so as a warning: the setting
    /// is for development, and lets an account's URLs reach this network's own services.
    func logStartup(_ logger: Logger, command: String) {
        let defaulted = (Environment.requiredInProduction + ["META_GRAPH_URL", "DUALHOOK_PUBLIC_URL"]).filter { setting($0) == nil }
        logger.info("starting", ["command": command, "mode": isDevelopment ? "development" : "production",
                                 "graph": graph.baseURL, "defaulted": defaulted.isEmpty ? "none" : defaulted.joined(separator: ",")])
        if allowPrivateTargets && !isDevelopment {
            logger.warning("DUALHOOK_ALLOW_PRIVATE_TARGETS=1 in production: URLs given by accounts may reach private, loopback and metadata addresses")
        }
    }
}
