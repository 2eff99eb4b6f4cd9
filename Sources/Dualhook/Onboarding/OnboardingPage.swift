import Crypto
import Foundation
import HTTPServer

/// The co-branded page: the account's name and logo, the tenant's name, one button, and the
/// script that runs Embedded Signup with Meta's SDK and reports back. No asset besides the SDK.
enum OnboardingPage {
    /// JSON for a `<script>` block: `</` cannot close the element early.
    static func scriptJSON(_ value: [String: AnyJSON]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value.mapValues(\.value), options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "</", with: "<\\/")
    }

    struct AnyJSON {
        let value: Any
        init(_ value: Any) { self.value = value }
    }

    static let style = """
        *{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f5f6f8;color:#1c1e21}
        main{max-width:28rem;margin:8vh auto;padding:2rem 1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
        header{display:flex;align-items:center;gap:.75rem;margin-bottom:1.25rem}header img{width:40px;height:40px;object-fit:contain}
        h1{font-size:1.35rem;margin:.25rem 0 1rem}p{margin:.5rem 0}
        button{width:100%;padding:.85rem 1rem;font-size:1rem;font-weight:600;border:0;border-radius:8px;background:#1565c0;color:#fff;cursor:pointer}
        button:focus-visible{outline:3px solid #0b3d91;outline-offset:2px}button[disabled]{opacity:.6;cursor:progress}
        #message{min-height:1.5rem;margin-top:1rem}small{color:#5f6368}a{color:#0b57d0}
        """

    /// The page in `language`, with a Content-Security-Policy that lets run only the page's own
    /// script (by a nonce made for this answer) and Meta's SDK from its origin.
    /// `connecting`: the page loaded again while the code is being exchanged: it says so and
    /// follows the session to its redirect, as the page that sent the code would have.
    static func render(_ session: OnboardingSession, meta: AppConfiguration.MetaApp, token: String, language: PageLanguage,
                       connecting: Bool = false) -> Response {
        let text = PageText.of(language)
        let brand = session.displayName
        func fill(_ template: String) -> HTML { HTML.filling(template, ["brand": brand, "tenant": session.tenantName ?? session.tenantID]) }
        let logo: HTML = session.logoURL.map { "<img src=\"\($0)\" alt=\"\">" } ?? ""
        let sdkURL = language.sdkURL(meta.sdkURL)
        let config = scriptJSON([
            "appId": AnyJSON(meta.appID), "configId": AnyJSON(meta.configID), "version": AnyJSON(meta.graphVersion),
            "sdkUrl": AnyJSON(sdkURL), "coexistence": AnyJSON(session.coexistence), "base": AnyJSON("/onboard/" + token),
            "text": AnyJSON(text.script.mapValues { $0.replacingOccurrences(of: "{brand}", with: session.displayName) }),
            "webhookCheck": AnyJSON(session.webhookCheck), "connecting": AnyJSON(connecting),
        ])
        let nonce = SecureRandom.base62(24)
        let contact: HTML = session.branding.contact(help: text.help, privacyPolicy: text.privacyPolicy).map { "<p><small>\($0)</small></p>" } ?? ""
        // Markup the program made itself goes in as it is: the style (its colours checked to be
        // `#rrggbb` when stored), the configuration's JSON (`</` cannot end its element) and the script.
        let html: HTML = """
            <!doctype html>
            <html lang="\(language.tag)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
            <title>\(text.title) · \(brand)</title><style nonce="\(nonce)">\(HTML(stringLiteral: style + session.branding.buttonCSS))</style></head>
            <body><main>
            <header>\(logo)<strong>\(brand)</strong></header>
            <h1>\(fill(text.heading))</h1>
            <p>\(fill(text.intro))</p>
            <button id="connect" type="button">\(text.button)</button>
            <p id="message" role="status" aria-live="polite"></p>
            <p><small>\(fill(text.privacy))</small></p>
            \(contact)
            </main>
            <script id="dualhook-config" type="application/json">\(HTML(stringLiteral: config))</script>
            <script nonce="\(nonce)">\(HTML(stringLiteral: script))</script>
            </body></html>
            """
        return Response(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                                               ("Content-Language", language.tag), ("Vary", "Accept-Language"),
                                               ("Content-Security-Policy", contentSecurityPolicy(nonce: nonce, sdkURL: sdkURL, logoURL: session.logoURL)),
                                               ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")],
                        body: Data(html.rendered.utf8))
    }

    /// Nothing runs but the page's script and Meta's SDK. The SDK draws its frames from
    /// facebook.com and talks to it; the page calls only its own routes.
    static func contentSecurityPolicy(nonce: String, sdkURL: String, logoURL: String?) -> String {
        let sdkOrigin = URL(string: sdkURL).flatMap { url -> String? in
            guard let scheme = url.scheme, let host = url.host else { return nil }
            return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
        } ?? "https://connect.facebook.net"
        var images = "'self' data: https:"
        if let logoURL, let url = URL(string: logoURL), url.scheme == "http", let host = url.host {
            images += " http://\(host)" + (url.port.map { ":\($0)" } ?? "")
        }
        return [
            "default-src 'none'",
            "script-src 'nonce-\(nonce)' \(sdkOrigin)",
            "style-src 'nonce-\(nonce)'",
            "img-src \(images)",
            "connect-src 'self' \(sdkOrigin) https://*.facebook.com",
            "frame-src \(sdkOrigin) https://*.facebook.com",
            "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// The page's script: runs Embedded Signup with Meta's SDK and reports what Meta's window
    /// says. `WA_EMBEDDED_SIGNUP` events as Meta documents them
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation):
    /// a `FINISH…` event names the WABA (and, but for `FINISH_ONLY_WABA` and a Coexistence
    /// finish, the number); `CANCEL` carries `current_step`, or `error_message` and `error_id`
    /// (`error_code` in newer SDKs) when the person reported an error; older SDKs send `ERROR`,
    /// which never replaces a finished signup's data.
    static let script = """
        (function () {
          var cfg = JSON.parse(document.getElementById('dualhook-config').textContent), T = cfg.text;
          var button = document.getElementById('connect'), message = document.getElementById('message');
          var signup = {}, ended = false, sdkOrigin = new URL(cfg.sdkUrl, location.href).origin;
          function say(text) { message.textContent = text; }
          // The link expired, was replaced by a newer one or was used up while this page was
          // open: the page, loaded again, says which.
          function gone(r) {
            if (r && r.error && /^session_(expired|used)$/.test(r.error.code)) { ended = true; location.reload(); return true; }
            return false;
          }
          function post(path, body) {
            return fetch(cfg.base + path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
              .then(function (r) { return r.status === 204 ? {} : r.json(); })
              .then(function (r) { gone(r); return r; });
          }
          // Loaded again while the code is being exchanged: follow the session to its end.
          if (cfg.connecting) { ended = true; button.disabled = true; say(T.connecting); setTimeout(poll, 0); }
          // A person is here (a link preview or a mail scanner runs no script).
          else post('/open', {}).catch(function () {});
          // A page left open watches its link: withdrawn, replaced or expired meanwhile, it is
          // loaded again (and says so) before anyone goes through Meta's whole sign-up for a
          // code that would be refused. Not while Meta's window is open or after it finished.
          (function watch() {
            setTimeout(function () {
              if (ended || button.disabled) { watch(); return; }
              fetch(cfg.base + '/status').then(function (r) { return r.json(); }).then(function (s) {
                if (gone(s)) return;
                if (s.open === false && !ended && !button.disabled) { ended = true; location.reload(); return; }
                watch();
              }).catch(watch);
            }, 10000);
          })();
          function poll() {
            fetch(cfg.base + '/status').then(function (r) { return r.json(); }).then(function (s) {
              if (s.redirectUrl) { location.assign(s.redirectUrl); } else if (!gone(s)) { setTimeout(poll, 1000); }
            }).catch(function () { setTimeout(poll, 2000); });
          }
          function cancel(d, reported) {
            ended = true;
            say(reported ? T.reported : T.cancelled);
            var body = {currentStep: d.current_step || undefined};
            if (reported) {
              body.errorMessage = d.error_message || undefined;
              body.errorId = String(d.error_id || d.error_code || '') || undefined;
              body.metaSessionId = d.session_id || undefined;
            }
            post('/cancel', body).then(function (r) { if (r.redirectUrl) location.assign(r.redirectUrl); });
          }
          window.addEventListener('message', function (event) {
            var origin = event.origin, trusted = origin === sdkOrigin || /^https:\\/\\/([a-z0-9-]+\\.)*facebook\\.com$/.test(origin);
            if (!trusted) return;
            var data; try { data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data; } catch (e) { return; }
            if (!data || data.type !== 'WA_EMBEDDED_SIGNUP' || ended) return;
            var d = data.data || {};
            if (data.event === 'CANCEL') {
              cancel(d, !!(d.error_message || d.error_id || d.error_code));
            } else if (data.event === 'ERROR') {
              if (!signup.wabaId) cancel(d, true);
            } else if (/^FINISH/.test(data.event || '') && d.waba_id) {
              signup = {event: data.event, wabaId: d.waba_id, phoneNumberId: d.phone_number_id, businessId: d.business_id};
            }
          });
          window.fbAsyncInit = function () {
            FB.init({appId: cfg.appId, autoLogAppEvents: true, xfbml: false, version: cfg.version});
          };
          var sdk = document.createElement('script');
          sdk.src = cfg.sdkUrl; sdk.async = true; sdk.crossOrigin = 'anonymous';
          sdk.onerror = function () { say(T.sdkFailed); };
          document.head.appendChild(sdk);
          // The tenant's URL refused Meta's handshake: Meta's window would only fail at its end.
          // Say so, and let Connect check again instead.
          var check = cfg.webhookCheck;
          if (check === 'failed') say(T.checkFailed);
          function recheck() {
            button.disabled = true; say(T.rechecking);
            post('/recheck', {}).then(function () {
              (function wait(tries) {
                fetch(cfg.base + '/status').then(function (r) { return r.json(); }).then(function (s) {
                  if (s.webhookCheck === 'pending' && tries < 60) { setTimeout(function () { wait(tries + 1); }, 1000); return; }
                  check = s.webhookCheck; button.disabled = false;
                  say(check === 'passed' ? T.checkPassed : T.checkFailed);
                }).catch(function () { button.disabled = false; say(T.checkFailed); });
              })(0);
            }).catch(function () { button.disabled = false; say(T.checkFailed); });
          }
          button.addEventListener('click', function () {
            if (check === 'failed') { recheck(); return; }
            if (!window.FB) { say(T.loading); return; }
            var extras = {setup: {}, sessionInfoVersion: '3'};
            if (cfg.coexistence) extras.featureType = 'whatsapp_business_app_onboarding';
            button.disabled = true; ended = false; say(T.waiting);
            // The SDK may call back before the WA_EMBEDDED_SIGNUP message names the account:
            // wait a moment for it.
            function complete(code, tries) {
              if (!signup.wabaId && tries < 30) { setTimeout(function () { complete(code, tries + 1); }, 100); return; }
              say(T.connecting);
              post('/complete', Object.assign({code: code}, signup)).then(function (r) {
                if (r && r.error) { if (!ended) { button.disabled = false; say(T.retry); } } else { poll(); }
              });
            }
            FB.login(function (response) {
              if (response && response.authResponse && response.authResponse.code) {
                complete(response.authResponse.code, 0);
              } else if (!ended) {
                // Back on the button, so Space or Enter starts again without a Tab.
                button.disabled = false; say(T.closed); button.focus();
              }
            }, {config_id: cfg.configId, response_type: 'code', override_default_response_type: true, extras: extras});
          });
        })();
        """

    /// A link that leads nowhere now: why, in the page's language, in the account's colours
    /// when the link was one of its sessions, and whom to ask.
    static func gone(status: Int, _ page: ClosedPage, language: PageLanguage, branding: PageBranding? = nil, tenant: String? = nil) -> Response {
        let words = PageText.of(language)
        let (titleTemplate, detailTemplate) = page.text(language)
        let values = ["brand": branding?.displayName ?? "", "tenant": tenant ?? ""]
        let (title, detail) = (HTML.filling(titleTemplate, values), HTML.filling(detailTemplate, values))
        let header: HTML = branding.map { b in
            let logo: HTML = b.logoURL.map { "<img src=\"\($0)\" alt=\"\">" } ?? ""
            return "<header>\(logo)<strong>\(b.displayName)</strong></header>"
        } ?? ""
        let contact: HTML = branding?.contact(help: words.help, privacyPolicy: words.privacyPolicy).map { "<p><small>\($0)</small></p>" } ?? ""
        let html: HTML = """
            <!doctype html>
            <html lang="\(language.tag)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
            <title>\(title)</title><style>\(HTML(stringLiteral: style))</style></head>
            <body><main>\(header)<h1>\(title)</h1><p>\(detail)</p>\(contact)</main></body></html>
            """
        return Response(status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                                                  ("Referrer-Policy", "no-referrer")],
                        body: Data(html.rendered.utf8))
    }

}
