import Foundation
import HTTPServer
import Testing

@Suite struct MiddlewareTests {
    /// Records its name on the way in and out, and can answer by itself.
    struct Step: Middleware {
        let name: String
        var answers = false

        func handle(_ request: Request, context: inout [String], next: Responder<[String]>) throws -> Response {
            context.append("in:\(name)")
            if answers { return Response(status: 403) }
            var response = try next(request, &context)
            context.append("out:\(name)")
            response.setHeader("X-Seen-By", (response.header("X-Seen-By").map { $0 + "," } ?? "") + name)
            return response
        }
    }

    struct Refusal: Error {}

    /// Turns an error from further in into a 400, and keeps what inner steps wrote to the context.
    struct Catch: Middleware {
        func handle(_ request: Request, context: inout [String], next: Responder<[String]>) throws -> Response {
            do { return try next(request, &context) } catch { context.append("caught"); return Response(status: 400) }
        }
    }

    let request = Request(method: "GET", path: "/", headers: [:], query: [:], body: Data(), requestID: "req_1", clientIP: "127.0.0.1")

    @Test func runsOutermostFirstAndUnwindsInReverse() throws {
        var trail: [String] = []
        let stack = MiddlewareStack<[String]>([Step(name: "a"), Step(name: "b")])
        let response = try stack.respond(to: request, context: &trail) { _, context in
            context.append("endpoint")
            return Response(status: 200)
        }
        #expect(response.status == 200)
        #expect(trail == ["in:a", "in:b", "endpoint", "out:b", "out:a"])
        #expect(response.header("X-Seen-By") == "b,a")
    }

    @Test func aStepCanAnswerWithoutTheRest() throws {
        var trail: [String] = []
        let stack = MiddlewareStack<[String]>([Step(name: "a"), Step(name: "gate", answers: true), Step(name: "never")])
        let response = try stack.respond(to: request, context: &trail) { _, context in
            context.append("endpoint")
            return Response(status: 200)
        }
        #expect(response.status == 403)
        #expect(trail == ["in:a", "in:gate", "out:a"])
    }

    @Test func whatInnerStepsLearnReachesAnOuterStepThatCatches() throws {
        var trail: [String] = []
        let stack = MiddlewareStack<[String]>([Catch(), Step(name: "auth")])
        let response = try stack.respond(to: request, context: &trail) { _, context in
            context.append("endpoint")
            throw Refusal()
        }
        #expect(response.status == 400)
        #expect(trail == ["in:auth", "endpoint", "caught"])
    }
}
