import Crypto
import Meta

/// What a job that acts at Meta for a connection needs: the Graph client, and the key ring that
/// opens the tokens it calls with.
public struct MetaAccess: Sendable {
    let vault: Vault
    let graph: GraphClient

    public init(vault: Vault, graph: GraphClient) {
        self.vault = vault
        self.graph = graph
    }
}
