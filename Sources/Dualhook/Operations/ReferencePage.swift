import Crypto
import Foundation
import HTTPServer

/// `GET /docs`: the API reference, drawn on the server from the OpenAPI document itself, so
/// the two cannot disagree. One HTML page, no script and no external asset.
enum ReferencePage {
    /// Drawn once: the document does not change while the process runs.
    static let body: HTML = render()

    static func response() -> Response {
        let nonce = SecureRandom.base62(24)
        let html: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <link rel="icon" href="data:,"><title>Dualhook API reference</title>
            <style nonce="\(nonce)">\(HTML(stringLiteral: style))</style></head>
            <body>\(body)</body></html>
            """
        return Response(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'nonce-\(nonce)'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
        ], body: Data(html.rendered.utf8))
    }

    static let style = """
        *{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1c1e21;background:#fff}
        main{max-width:60rem;margin:0 auto;padding:1.5rem}nav{columns:2 16rem;font-size:.9rem;margin:1rem 0 2rem}nav a{display:block}
        h1{font-size:1.7rem}h2{margin-top:2.5rem;border-bottom:1px solid #dde1e6;padding-bottom:.3rem}h3{margin:2rem 0 .3rem;font-size:1.05rem}
        code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:.05rem .3rem;border-radius:4px}
        .method{display:inline-block;min-width:4.2rem;font-weight:700;color:#0b57d0}.op{border-top:1px solid #eef0f3;padding-top:.6rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.92rem}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eef0f3}
        th{font-weight:600;background:#f8f9fa}a{color:#0b57d0}.muted{color:#5f6368}
        """

    typealias Object = [String: Any]

    static func render() -> HTML {
        guard let document = try? JSONSerialization.jsonObject(with: OpenAPIDocument.json) as? Object else { return "<main>No document</main>" }
        let info = document["info"] as? Object ?? [:]
        let schemas = (document["components"] as? Object)?["schemas"] as? Object ?? [:]
        let paths = document["paths"] as? Object ?? [:]
        let webhooks = document["webhooks"] as? Object ?? [:]
        let methods = ["get", "post", "patch", "put", "delete"]

        var operations: [(anchor: String, method: String, path: String, op: Object)] = []
        for path in paths.keys.sorted() {
            let item = paths[path] as? Object ?? [:]
            for method in methods {
                if let op = item[method] as? Object {
                    operations.append((op["operationId"] as? String ?? "\(method)-\(path)", method.uppercased(), path, op))
                }
            }
        }
        let toc = operations.map { entry -> HTML in
            "<a href=\"#\(entry.anchor)\"><span class=\"method\">\(entry.method)</span> \(entry.path)</a>"
        }
        let errorRows = OpenAPIDocument.errorCodes.map { entry -> HTML in
            "<tr><td><code>\(entry.code)</code></td><td>\(entry.status)</td><td>\(entry.meaning)</td></tr>"
        }
        let operationSections = operations.map { operation(anchor: $0.anchor, method: $0.method, path: $0.path, op: $0.op, schemas: schemas) }
        let eventSections = webhooks.keys.sorted().map { name -> HTML in
            let post = (webhooks[name] as? Object)?["post"] as? Object ?? [:]
            let body = ((((post["requestBody"] as? Object)?["content"] as? Object)?["application/json"] as? Object)?["schema"] as? Object) ?? [:]
            let data = (body["properties"] as? Object)?["data"] as? Object ?? [:]
            return """
                <div class="op" id="event-\(name)"><h3><code>\(name)</code></h3><p>\(post["summary"] as? String ?? "")</p>
                \(fields(data, schemas: schemas, caption: "data"))</div>
                """
        }
        let schemaSections = schemas.keys.sorted().map { name -> HTML in
            let schema = schemas[name] as? Object ?? [:]
            let description = (schema["description"] as? String).map { text -> HTML in "<p>\(text)</p>" } ?? ""
            return "<div class=\"op\" id=\"schema-\(name)\"><h3>\(name)</h3>\(description)\(fields(schema, schemas: schemas, caption: nil))</div>"
        }
        return """
            <main>
            <h1>\(info["title"] as? String ?? "API") reference <span class="muted">\(info["version"] as? String ?? "")</span></h1>
            <p>\(info["description"] as? String ?? "")</p>
            <p>Authenticate with <code>Authorization: Bearer dh_live_…</code>. JSON in and out, camelCase, timestamps RFC 3339 UTC.
            Every response carries <code>Request-Id</code>; authenticated ones carry <code>X-RateLimit-Limit</code>,
            <code>X-RateLimit-Remaining</code> and <code>X-RateLimit-Reset</code>. The machine-readable document is
            <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
            <nav>\(toc)<a href="#errors">Errors</a><a href="#events">Events</a><a href="#schemas">Schemas</a></nav>
            <h2>Operations</h2>\(operationSections)
            <h2 id="errors">Errors</h2>
            <p>Every error is <code>{"error":{"code","message","param","requestId"}}</code>; <code>param</code> names the field at fault.</p>
            <table><tr><th>code</th><th>status</th><th>meaning</th></tr>\(errorRows)</table>
            <h2 id="events">Events</h2>
            <p>Sent to the account's event URL as <code>{"id","type","createdAt","data"}</code>, signed with
            <code>X-Dualhook-Signature</code> and Standard Webhooks headers; a 2xx within 15 s is delivered, anything else is retried.</p>
            \(eventSections)
            <h2 id="schemas">Schemas</h2>\(schemaSections)
            </main>
            """
    }

    static func operation(anchor: String, method: String, path: String, op: Object, schemas: Object) -> HTML {
        let parameters = (op["parameters"] as? [Object] ?? []).map { parameter -> HTML in
            let schema = parameter["schema"] as? Object ?? [:]
            return """
                <tr><td><code>\(parameter["name"] as? String ?? "")</code></td><td>\(parameter["in"] as? String ?? "")</td>
                <td>\(typeName(schema))\((parameter["required"] as? Bool) == true ? ", required" : "")</td>
                <td>\(parameter["description"] as? String ?? "")</td></tr>
                """
        }
        let parameterTable: HTML = parameters.isEmpty ? "" :
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>\(parameters)</table>"
        var body: HTML = ""
        if let request = op["requestBody"] as? Object,
           let schema = ((request["content"] as? Object)?["application/json"] as? Object)?["schema"] as? Object {
            body = fields(resolve(schema, schemas), schemas: schemas, caption: "body" + ((request["required"] as? Bool) == true ? "" : " (optional)"))
        }
        let responses = (op["responses"] as? Object ?? [:]).keys.sorted().map { status -> HTML in
            let response = (op["responses"] as? Object)?[status] as? Object ?? [:]
            let schema = ((response["content"] as? Object)?["application/json"] as? Object)?["schema"] as? Object
            let ref = (schema?["$ref"] as? String)?.split(separator: "/").last.map(String.init)
            let link: HTML = ref.map { "<a href=\"#schema-\($0)\">\($0)</a>" } ?? ""
            return "<tr><td>\(status)</td><td>\(response["description"] as? String ?? "") \(link)</td></tr>"
        }
        return """
            <div class="op" id="\(anchor)"><h3><span class="method">\(method)</span> <code>\(path)</code></h3>
            <p><strong>\(op["summary"] as? String ?? "")</strong>. \(op["description"] as? String ?? "")</p>
            \(parameterTable)\(body)
            <table><tr><th>status</th><th>answer</th></tr>\(responses)</table></div>
            """
    }

    /// A schema's fields as a table: name, type, required, meaning.
    static func fields(_ schema: Object, schemas: Object, caption: String?) -> HTML {
        let resolved = resolve(schema, schemas)
        let properties = resolved["properties"] as? Object ?? [:]
        guard !properties.isEmpty else { return "" }
        let required = Set(resolved["required"] as? [String] ?? [])
        let rows = properties.keys.sorted().map { name -> HTML in
            let property = properties[name] as? Object ?? [:]
            return """
                <tr><td><code>\(name)</code></td><td>\(typeName(property))\(required.contains(name) ? ", required" : "")</td>
                <td>\(property["description"] as? String ?? "")</td></tr>
                """
        }
        let title: HTML = caption.map { "<tr><th colspan=\"3\">\($0)</th></tr>" } ?? ""
        return "<table>\(title)<tr><th>field</th><th>type</th><th>meaning</th></tr>\(rows)</table>"
    }

    static func resolve(_ schema: Object, _ schemas: Object) -> Object {
        guard let ref = schema["$ref"] as? String, let name = ref.split(separator: "/").last else { return schema }
        return schemas[String(name)] as? Object ?? schema
    }

    /// `string`, `integer | null`, `array of Connection`, `"a" | "b"`.
    static func typeName(_ schema: Object) -> String {
        if let ref = schema["$ref"] as? String { return String(ref.split(separator: "/").last ?? "") }
        if let values = schema["enum"] as? [Any] {
            return values.map { $0 is NSNull ? "null" : "\"\($0)\"" }.joined(separator: " | ")
        }
        if let constant = schema["const"] { return "\"\(constant)\"" }
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? ["any"]
        return types.map { type -> String in
            if type == "array", let items = schema["items"] as? Object { return "array of \(typeName(items))" }
            if let format = schema["format"] as? String, type == "string" { return "string (\(format))" }
            return type
        }.joined(separator: " | ")
    }
}
