@testable import FakeMeta
import Testing

@Suite struct FakeMetaStateTests {
    /// A fake left running for days keeps the latest calls and SDK loads, in order, not all of them.
    @Test func callsAndSDKLoadsKeepTheLatestOnly() {
        var state = FakeMetaState()
        let total = FakeMetaState.keptCalls * 2 + 7
        for i in 0..<total {
            state.recordCall(method: "GET", path: "/v25.0/\(i)")
            state.recordSDKLoad(locale: "l\(i)")
        }
        #expect(state.calls.count >= FakeMetaState.keptCalls && state.calls.count <= FakeMetaState.keptCalls * 11 / 10)
        #expect(state.calls.last?.path == "/v25.0/\(total - 1)")
        let first = total - state.calls.count
        #expect(state.calls.first?.path == "/v25.0/\(first)", "the oldest are dropped, the rest kept in order")
        #expect(state.sdkLocales.count == state.calls.count && state.sdkLocales.last == "l\(total - 1)")
    }
}
