import Foundation
import HTTPServer
import Postgres

/// `GET /api/v1/tenants` and `GET /api/v1/tenants/{tenantId}` (with its connections).
enum TenantRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/tenants", RouteEntry(.api, query: ["limit", "cursor"], list))
        router.add("GET", "/api/v1/tenants/{tenantId}", RouteEntry(.api, get))
    }

    static let columns = """
        t.tenant_id, t.name, t.created_at,
        (SELECT count(*)::int FROM connections c WHERE c.account_id = t.account_id AND c.tenant_id = t.tenant_id AND c.status = 'active')
        """

    static func object(_ row: Row) throws -> [String: Any?] {
        ["tenantId": try row.decode(String.self, at: 0), "name": try row.decode(String?.self, at: 1),
         "createdAt": try row.decode(Date.self, at: 2), "activeConnections": try row.decode(Int.self, at: 3)]
    }

    static func list(_ context: APIContext) throws -> Response {
        let page = try Pagination(query: context.request.query)
        var filter = SQLFilter()
        filter.add("t.account_id = \(context.account.accountID)")
        filter.after(page, createdAt: "t.created_at", id: "t.tenant_id")
        let rows = try context.connection.sql("""
            SELECT \(unescaped: columns) FROM tenants t WHERE \(filter.sql) ORDER BY t.created_at DESC, t.tenant_id DESC LIMIT \(page.limit + 1)
            """).rows
        let items = try rows.prefix(page.limit).map(object)
        var next: String?
        if rows.count > page.limit, let last = rows.prefix(page.limit).last {
            next = Pagination.cursor(createdAt: try last.decode(Date.self, at: 2), id: try last.decode(String.self, at: 0))
        }
        return JSONResponse.make(200, ["data": items, "nextCursor": next])
    }

    static func get(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["tenantId"] ?? ""
        guard let row = try context.connection.sql("SELECT \(unescaped: columns) FROM tenants t WHERE t.account_id = \(context.account.accountID) AND t.tenant_id = \(id)").first else {
            throw APIError.notFound("tenant \(id)")
        }
        var tenant = try object(row)
        tenant["connections"] = try context.connection.sql("""
            SELECT \(unescaped: ConnectionView.columns) FROM \(unescaped: ConnectionView.from)
            WHERE c.account_id = \(context.account.accountID) AND c.tenant_id = \(id) ORDER BY c.created_at DESC, c.id DESC LIMIT 1000
            """).rows.map { try ConnectionView.object($0) }
        return JSONResponse.make(200, tenant)
    }
}
