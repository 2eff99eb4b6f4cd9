@testable import HTTPServer
import Testing

@Suite struct RouterTests {
    func router() -> Router<String> {
        var router = Router<String>()
        router.add("GET", "/api/v1/onboarding/sessions", "list")
        router.add("POST", "/api/v1/onboarding/sessions", "create")
        router.add("GET", "/api/v1/onboarding/sessions/{id}", "get")
        router.add("PATCH", "/api/v1/connections/{id}", "patch")
        router.add("POST", "/api/v1/connections/{id}/health/refresh", "refresh")
        return router
    }

    @Test func matchesLiteralsAndParameters() {
        guard case .found(let route, let parameters) = router().match(method: "GET", path: "/api/v1/onboarding/sessions/ses_1%2F2") else {
            Issue.record("expected a match"); return
        }
        #expect(route.handler == "get")
        #expect(route.pattern == "/api/v1/onboarding/sessions/{id}")
        #expect(parameters == ["id": "ses_1/2"])
        guard case .found(let refresh, let p) = router().match(method: "POST", path: "/api/v1/connections/c9/health/refresh/") else {
            Issue.record("a trailing slash still matches"); return
        }
        #expect(refresh.handler == "refresh" && p == ["id": "c9"])
    }

    @Test func aKnownPathWithAnotherMethodIsNotAllowed() {
        guard case .methodNotAllowed(let allowed) = router().match(method: "DELETE", path: "/api/v1/onboarding/sessions") else {
            Issue.record("expected 405"); return
        }
        #expect(allowed == ["GET", "POST"])
        guard case .found(let route, _) = router().match(method: "HEAD", path: "/api/v1/onboarding/sessions") else {
            Issue.record("HEAD is served by GET"); return
        }
        #expect(route.handler == "list")
    }

    @Test func aParameterThatIsNotPercentEncodedUTF8IsMalformed() {
        for path in ["/api/v1/onboarding/sessions/ses_%FF", "/api/v1/onboarding/sessions/%zz", "/api/v1/onboarding/sessions/a%C3"] {
            guard case .malformed(let route, let parameter) = router().match(method: "GET", path: path) else {
                Issue.record("\(path) should be malformed"); continue
            }
            #expect(route.handler == "get" && parameter == "id")
        }
        // Escapes of valid UTF-8 still decode, and another method is still a 405.
        guard case .found(_, let parameters) = router().match(method: "GET", path: "/api/v1/onboarding/sessions/caf%C3%A9") else {
            Issue.record("expected a match"); return
        }
        #expect(parameters == ["id": "café"])
        guard case .methodNotAllowed = router().match(method: "PUT", path: "/api/v1/connections/%FF") else {
            Issue.record("expected 405"); return
        }
    }

    @Test func unknownPathsAreNotFound() {
        for path in ["/", "/api/v1", "/api/v1/onboarding/sessions/a/b", "/api/v2/onboarding/sessions"] {
            guard case .notFound = router().match(method: "GET", path: path) else {
                Issue.record("\(path) should not match"); continue
            }
        }
    }

    /// What `match` answers, in a word: the handler, 405 with the allowed methods, 400 with the
    /// malformed parameter, or 404.
    func answer(_ router: Router<String>, _ method: String, _ path: String) -> String {
        switch router.match(method: method, path: path) {
        case .found(let route, let parameters):
            route.handler + parameters.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        case .methodNotAllowed(let allowed): "405 " + allowed.joined(separator: ",")
        case .malformed(let route, let parameter): "400 \(route.handler) \(parameter)"
        case .notFound: "404"
        }
    }

    /// Routes are tried in the order they were added, whether their first segment is a literal
    /// or a parameter, and whether or not the exact table answers.
    @Test func theRouteAddedFirstWins() {
        var router = Router<String>()
        router.add("GET", "/{tenant}/pages", "any tenant's pages")
        router.add("GET", "/acme/pages", "acme's pages")
        router.add("GET", "/acme/{page}", "an acme page")
        router.add("POST", "/{tenant}/{page}", "a post")
        router.add("GET", "/healthz", "health")
        let expected = [
            ("GET", "/acme/pages", "any tenant's pages tenant=acme"), ("GET", "/acme/about", "an acme page page=about"),
            ("DELETE", "/acme/pages", "405 GET,POST"), ("POST", "/healthz", "405 GET"), ("GET", "/acme", "404"),
            ("HEAD", "/healthz", "health"), ("HEAD", "/healthz/", "health"), ("HEAD", "//healthz", "health"),
        ]
        for (method, path, answer) in expected {
            #expect(self.answer(router, method, path) == answer, "\(method) \(path)")
        }
    }

    /// Exact paths skip the general matcher unless an earlier route could take the request;
    /// either way the answer is the general matcher's.
    @Test func exactPathsAnswerAsTheGeneralMatcherWould() {
        var router = Router<String>()
        router.add("GET", "/meta/webhook", "verify")
        router.add("POST", "/meta/webhook", "receive")
        router.add("HEAD", "/{x}", "any head")
        router.add("GET", "/healthz", "health")
        router.add("GET", "/ping", "ping")
        router.add("HEAD", "/ping", "ping head")
        #expect(router.exactIndex(method: "POST", path: "/meta/webhook") != nil)
        #expect(router.exactIndex(method: "GET", path: "/meta/webhook") != nil)
        #expect(router.exactIndex(method: "GET", path: "/healthz") == nil)
        #expect(router.exactIndex(method: "HEAD", path: "/ping") == nil)
        let expected = [("POST", "/meta/webhook", "receive"), ("HEAD", "/meta/webhook", "verify"), ("HEAD", "/healthz", "any head x=healthz"),
                        ("GET", "/healthz", "health"), ("HEAD", "/ping", "any head x=ping"), ("GET", "/ping", "ping")]
        for (method, path, answer) in expected {
            #expect(self.answer(router, method, path) == answer, "\(method) \(path)")
        }
    }

    @Test func configurationParsesListenAddresses() {
        let c = HTTPServer.Configuration(listen: "127.0.0.1:8080")
        #expect(c?.host == "127.0.0.1" && c?.port == 8080)
        #expect(HTTPServer.Configuration(listen: "nohost") == nil)
        #expect(HTTPServer.Configuration(listen: "127.0.0.1:99999") == nil)
    }
}
