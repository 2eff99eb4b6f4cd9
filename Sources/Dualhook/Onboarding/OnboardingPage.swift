import Foundation
import HTTPServer

/// The co-branded page: the account's name and logo, the tenant's name, one button, and the
/// script that runs Embedded Signup with Meta's SDK and reports back. No asset besides the SDK.
enum OnboardingPage {
    static func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

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
        button{width:100%;padding:.85rem 1rem;font-size:1rem;font-weight:600;border:0;border-radius:8px;background:#1877f2;color:#fff;cursor:pointer}
        button:focus-visible{outline:3px solid #0b3d91;outline-offset:2px}button[disabled]{opacity:.6;cursor:progress}
        #message{min-height:1.5rem;margin-top:1rem}small{color:#606770}
        """

    static func render(_ session: OnboardingSession, meta: AppConfiguration.MetaApp, token: String) -> Response {
        let brand = escape(session.displayName)
        let tenant = escape(session.tenantName ?? session.tenantID)
        let logo = session.logoURL.map { #"<img src="\#(escape($0))" alt="">"# } ?? ""
        let config = scriptJSON([
            "appId": AnyJSON(meta.appID), "configId": AnyJSON(meta.configID), "version": AnyJSON(meta.graphVersion),
            "sdkUrl": AnyJSON(meta.sdkURL), "coexistence": AnyJSON(session.coexistence), "base": AnyJSON("/onboard/" + token),
        ])
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <meta name="referrer" content="no-referrer"><title>Connect WhatsApp · \(brand)</title><style>\(style)</style></head>
            <body><main>
            <header>\(logo)<strong>\(brand)</strong></header>
            <h1>Connect WhatsApp for \(tenant)</h1>
            <p>\(brand) uses Meta's secure sign-up to connect your WhatsApp Business number. A Meta window will open; follow its steps and you will come back here.</p>
            <button id="connect" type="button">Connect WhatsApp</button>
            <p id="message" role="status" aria-live="polite"></p>
            <p><small>Your messages go directly from Meta to \(brand); they are never stored here.</small></p>
            </main>
            <script id="dualhook-config" type="application/json">\(config)</script>
            <script>
            (function () {
              var cfg = JSON.parse(document.getElementById('dualhook-config').textContent);
              var button = document.getElementById('connect'), message = document.getElementById('message');
              var signup = {}, sdkOrigin = new URL(cfg.sdkUrl, location.href).origin;
              function say(text) { message.textContent = text; }
              function post(path, body) {
                return fetch(cfg.base + path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
                  .then(function (r) { return r.json(); });
              }
              function poll() {
                fetch(cfg.base + '/status').then(function (r) { return r.json(); }).then(function (s) {
                  if (s.redirectUrl) { location.assign(s.redirectUrl); } else { setTimeout(poll, 1000); }
                }).catch(function () { setTimeout(poll, 2000); });
              }
              window.addEventListener('message', function (event) {
                var origin = event.origin, trusted = origin === sdkOrigin || /^https:\\/\\/([a-z0-9-]+\\.)*facebook\\.com$/.test(origin);
                if (!trusted) return;
                var data; try { data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data; } catch (e) { return; }
                if (!data || data.type !== 'WA_EMBEDDED_SIGNUP') return;
                if (data.event === 'CANCEL') {
                  say('Cancelled.');
                  post('/cancel', {currentStep: (data.data && data.data.current_step) || undefined}).then(function (r) {
                    if (r.redirectUrl) location.assign(r.redirectUrl);
                  });
                } else if (data.data) {
                  signup = {event: data.event, wabaId: data.data.waba_id, phoneNumberId: data.data.phone_number_id, businessId: data.data.business_id};
                }
              });
              window.fbAsyncInit = function () {
                FB.init({appId: cfg.appId, autoLogAppEvents: true, xfbml: false, version: cfg.version});
              };
              var sdk = document.createElement('script');
              sdk.src = cfg.sdkUrl; sdk.async = true; sdk.crossOrigin = 'anonymous';
              sdk.onerror = function () { say('Meta\\'s sign-up could not be loaded. Check your connection and reload.'); };
              document.head.appendChild(sdk);
              button.addEventListener('click', function () {
                if (!window.FB) { say('Still loading Meta\\'s sign-up…'); return; }
                var extras = {setup: {}, sessionInfoVersion: '3'};
                if (cfg.coexistence) extras.featureType = 'whatsapp_business_app_onboarding';
                button.disabled = true; say('Waiting for Meta…');
                // The SDK may call back before the WA_EMBEDDED_SIGNUP message names the account:
                // wait a moment for it.
                function complete(code, tries) {
                  if (!signup.wabaId && tries < 30) { setTimeout(function () { complete(code, tries + 1); }, 100); return; }
                  say('Connecting your number…');
                  post('/complete', Object.assign({code: code}, signup)).then(function (r) {
                    if (r && r.error) { button.disabled = false; say('Meta did not finish the sign-up. Please try again.'); } else { poll(); }
                  });
                }
                FB.login(function (response) {
                  if (response && response.authResponse && response.authResponse.code) {
                    complete(response.authResponse.code, 0);
                  } else {
                    button.disabled = false; say('The Meta window was closed before finishing.');
                  }
                }, {config_id: cfg.configId, response_type: 'code', override_default_response_type: true, extras: extras});
              });
            })();
            </script>
            </body></html>
            """
        return Response(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                                               ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")],
                        body: Data(html.utf8))
    }

    static func gone(status: Int, title: String, detail: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(escape(title))</title><style>\(style)</style></head>
            <body><main><h1>\(escape(title))</h1><p>\(escape(detail))</p></main></body></html>
            """
        return Response(status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                        body: Data(html.utf8))
    }
}
