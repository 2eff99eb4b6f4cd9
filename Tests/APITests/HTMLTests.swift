@testable import Dualhook
import Testing

/// The HTML builder the pages are written with: text escaped by construction.
struct HTMLTests {
    @Test func interpolatedTextIsEscapedAndMarkupIsNot() {
        let name = #"<b>"Ann" & 'Bo'</b>"#
        let cell: HTML = "<td>\(name)</td>"
        let row: HTML = "<tr>\(cell)</tr>"
        #expect(row.rendered == "<tr><td>&lt;b&gt;&quot;Ann&quot; &amp; &#39;Bo&#39;&lt;/b&gt;</td></tr>")
    }

    @Test func aTranslationIsFilledInOnePassWithBothSidesEscaped() {
        let filled = HTML.filling("<{brand}> asks {tenant} {unknown} {", ["brand": "A&B {tenant}", "tenant": "<i>x</i>"])
        #expect(filled.rendered == "&lt;A&amp;B {tenant}&gt; asks &lt;i&gt;x&lt;/i&gt; {unknown} {")
    }
}
