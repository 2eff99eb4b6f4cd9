import HTTPServer
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

    @Test func unknownPathsAreNotFound() {
        for path in ["/", "/api/v1", "/api/v1/onboarding/sessions/a/b", "/api/v2/onboarding/sessions"] {
            guard case .notFound = router().match(method: "GET", path: path) else {
                Issue.record("\(path) should not match"); continue
            }
        }
    }

    @Test func configurationParsesListenAddresses() {
        let c = HTTPServer.Configuration(listen: "127.0.0.1:8080")
        #expect(c?.host == "127.0.0.1" && c?.port == 8080)
        #expect(HTTPServer.Configuration(listen: "nohost") == nil)
        #expect(HTTPServer.Configuration(listen: "127.0.0.1:99999") == nil)
    }
}
