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

    @Test func unknownPathsAreNotFound() {
        for path in ["/", "/api/v1", "/api/v1/onboarding/sessions/a/b", "/api/v2/onboarding/sessions"] {
            guard case .notFound = router().match(method: "GET", path: path) else {
                Issue.record("\(path) should not match"); continue
            }
        }
    }

    /// Routes are tried in the order they were added, whether their first segment is a literal
    /// or a parameter.
    @Test func theRouteAddedFirstWins() {
        var router = Router<String>()
        router.add("GET", "/{tenant}/pages", "any tenant's pages")
        router.add("GET", "/acme/pages", "acme's pages")
        router.add("GET", "/acme/{page}", "an acme page")
        router.add("POST", "/{tenant}/{page}", "a post")
        guard case .found(let first, let p) = router.match(method: "GET", path: "/acme/pages") else {
            Issue.record("expected a match"); return
        }
        #expect(first.handler == "any tenant's pages" && p == ["tenant": "acme"])
        guard case .found(let literal, _) = router.match(method: "GET", path: "/acme/about") else {
            Issue.record("expected a match"); return
        }
        #expect(literal.handler == "an acme page")
        guard case .methodNotAllowed(let allowed) = router.match(method: "DELETE", path: "/acme/pages") else {
            Issue.record("expected 405"); return
        }
        #expect(allowed == ["GET", "POST"])
        router.add("GET", "/healthz", "health")
        for path in ["/healthz", "/healthz/", "//healthz"] {
            guard case .found(let health, _) = router.match(method: "HEAD", path: path) else {
                Issue.record("HEAD \(path) is served by GET"); continue
            }
            #expect(health.handler == "health")
        }
        guard case .methodNotAllowed(let onlyGet) = router.match(method: "POST", path: "/healthz") else {
            Issue.record("expected 405"); return
        }
        #expect(onlyGet == ["GET"])
        guard case .notFound = router.match(method: "GET", path: "/acme") else {
            Issue.record("/acme has one segment: no route has"); return
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
        #expect(router.answersExactly(method: "POST", path: "/meta/webhook"))
        #expect(router.answersExactly(method: "GET", path: "/meta/webhook"))
        #expect(!router.answersExactly(method: "GET", path: "/healthz"))
        #expect(!router.answersExactly(method: "HEAD", path: "/ping"))
        let expected = [("POST", "/meta/webhook", "receive"), ("HEAD", "/meta/webhook", "verify"), ("HEAD", "/healthz", "any head"),
                        ("GET", "/healthz", "health"), ("HEAD", "/ping", "any head"), ("GET", "/ping", "ping")]
        for (method, path, handler) in expected {
            guard case .found(let route, _) = router.match(method: method, path: path) else {
                Issue.record("\(method) \(path) should match"); continue
            }
            #expect(route.handler == handler, "\(method) \(path)")
        }
    }

    @Test func configurationParsesListenAddresses() {
        let c = HTTPServer.Configuration(listen: "127.0.0.1:8080")
        #expect(c?.host == "127.0.0.1" && c?.port == 8080)
        #expect(HTTPServer.Configuration(listen: "nohost") == nil)
        #expect(HTTPServer.Configuration(listen: "127.0.0.1:99999") == nil)
    }
}
