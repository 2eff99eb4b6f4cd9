import Testing
@testable import Logging

/// logfmt values: bare when they can be, quoted and escaped when a reader would split them.
@Suite struct LogfmtValueTests {
    func appended(_ value: String) -> String {
        var line = ""
        Logger.append("k", value, to: &line)
        return line
    }

    @Test func plainValuesStayBareAndOthersAreQuoted() {
        #expect(appended("req_123") == " k=req_123")
        #expect(appended("ünïcödé") == " k=ünïcödé")
        #expect(appended("") == #" k="""#)
        #expect(appended("two words") == #" k="two words""#)
        #expect(appended("a=b") == #" k="a=b""#)
        #expect(appended(#"say "hi""#) == #" k="say \"hi\"""#)
        #expect(appended("line\nbreak") == #" k="line\nbreak""#)
        #expect(appended("cr\rhere") == #" k="cr\rhere""#)
        #expect(appended("form\u{0C}feed").hasPrefix(#" k=""#))
        #expect(appended("next\u{2028}line").hasPrefix(#" k=""#), "a line separator past ASCII is a break too")
        #expect(appended("ünï code") == #" k="ünï code""#)
        #expect(appended("a\"\u{301}b") == " k=\"a\\\"\u{301}b\"", "a quote with a combining mark is still escaped")
        #expect(appended("crlf\r\nend") == #" k="crlf\r\nend""#)
        // A space or quote after a non-ASCII letter and before a combining mark.
        #expect(appended("é \u{301}x") == " k=\"é \u{301}x\"")
        #expect(appended("ü\"\u{301}") == " k=\"ü\\\"\u{301}\"")
    }
}
