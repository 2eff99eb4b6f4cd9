import Foundation
import HTTPServer

/// The browser half of Embedded Signup: a stand-in for Meta's JS SDK (`FB.init`, `FB.login`)
/// and the popup a person would click through. `#finish` and `#finish-only-waba` make a
/// signup (as `/_fake/signup` does), post `WA_EMBEDDED_SIGNUP` to the opener and hand the code
/// to `FB.login`'s callback; `#cancel` posts `CANCEL` with the step it was on;
/// `#report-error` posts the error a person reports.
extension FakeMeta {
    /// The SDK's paths: `/{ll_CC}/sdk.js` as Meta serves it in each locale, and `/sdk.js`
    /// (recorded as `en_US`).
    static func sdkLocale(_ path: String) -> String? {
        if path == "/sdk.js" { return "en_US" }
        let parts = path.split(separator: "/")
        guard parts.count == 2, parts[1] == "sdk.js", parts[0].count == 5, parts[0].dropFirst(2).first == "_" else { return nil }
        return String(parts[0])
    }

    func sdk() -> Response {
        Response(status: 200, headers: [("Content-Type", "application/javascript; charset=utf-8"),
                                        ("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-cache")],
                 body: Data(FakeMeta.sdkScript.utf8))
    }

    func popup(_ request: Request) -> Response {
        // Meta refuses a login for another app, or without a configuration or the code flow.
        let problem: String? =
            request.query["app_id"] != configuration.appID ? "This app is not known (app_id)." :
            (request.query["config_id"] ?? "").isEmpty ? "A configuration is required (config_id)." :
            request.query["response_type"] != "code" ? "Embedded Signup needs response_type=code." : nil
        let body = problem.map { "<p role=\"alert\" id=\"error\">\($0)</p>" } ?? FakeMeta.popupControls
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <link rel="icon" href="data:,"><title>WhatsApp Embedded Signup (simulated)</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem}button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}</style>
            </head><body><h1>WhatsApp Business: Embedded Signup</h1>
            <p><small>Simulated by <code>dualhook fake-meta</code>.</small></p>
            \(body)
            </body></html>
            """
        return Response(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                        body: Data(html.utf8))
    }

    /// The popup's choices, and the `WA_EMBEDDED_SIGNUP` messages they post, shaped as Meta
    /// documents them
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation):
    /// `FINISH` with `phone_number_id`, `waba_id`, `business_id`; `FINISH_ONLY_WABA` without a
    /// number; a Coexistence finish (`FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`) with only
    /// `waba_id`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-business-app-users);
    /// `CANCEL` with `current_step`, or with `error_message`, `error_id`, `session_id` and
    /// `timestamp` when the person reports an error; older SDKs sent `ERROR` with `error_message`.
    static let popupControls = """
        <p><label for="mode">The number will be</label>
        <select id="mode"><option value="cloud_api">on the Cloud API</option>
        <option value="coexistence">kept in the WhatsApp Business app (Coexistence)</option>
        <option value="unknown">not yet known to Meta</option></select></p>
        <p><label><input type="checkbox" id="verified" checked> The number's ownership is verified</label></p>
        <button id="finish" type="button">Finish</button>
        <button id="finish-only-waba" type="button">Finish without a number</button>
        <button id="cancel" type="button">Cancel</button>
        <p><label for="error-message">Something went wrong?</label>
        <input id="error-message" value="The phone number could not be verified">
        <label><input type="checkbox" id="legacy"> as an older SDK</label>
        <button id="report-error" type="button">Report the problem</button></p>
        <p id="status" role="status"></p>
        <script>
        (function () {
          var params = new URLSearchParams(location.search);
          var coexistence = params.get('feature_type') === 'whatsapp_business_app_onboarding';
          var mode = document.getElementById('mode'), status = document.getElementById('status');
          mode.value = coexistence ? 'coexistence' : 'cloud_api';
          function send(message) { if (window.opener) window.opener.postMessage(message, '*'); }
          function login(response) { send({type: 'FAKE_FB_LOGIN_RESULT', response: response}); }
          function finish(onlyWABA) {
            status.textContent = 'Finishing…';
            var event = onlyWABA ? 'FINISH_ONLY_WABA' : coexistence ? 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING' : 'FINISH';
            fetch('/_fake/signup', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({mode: mode.value, finish: event, verified: document.getElementById('verified').checked})})
              .then(function (r) { return r.json(); })
              .then(function (r) {
                var data = {waba_id: r.wabaId};
                if (event === 'FINISH') { data.phone_number_id = r.phoneNumberId; data.business_id = r.businessId; }
                if (event === 'FINISH_ONLY_WABA') { data.business_id = r.businessId; }
                send(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', version: '3', event: event, data: data}));
                login({status: 'connected', authResponse: {code: r.code, userID: '', expiresIn: 0}});
                window.close();
              });
          }
          document.getElementById('finish').addEventListener('click', function () { finish(false); });
          document.getElementById('finish-only-waba').addEventListener('click', function () { finish(true); });
          document.getElementById('cancel').addEventListener('click', function () {
            send(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', version: '3', event: 'CANCEL', data: {current_step: 'PHONE_NUMBER_SETUP'}}));
            login({status: 'unknown', authResponse: null});
            window.close();
          });
          document.getElementById('report-error').addEventListener('click', function () {
            var message = document.getElementById('error-message').value;
            if (document.getElementById('legacy').checked) {
              send(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', version: '2', event: 'ERROR', data: {error_message: message}}));
            } else {
              send(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', version: '3', event: 'CANCEL',
                data: {error_message: message, error_id: '524126', session_id: 'f34b51dab5e0498', timestamp: String(Math.floor(Date.now() / 1000))}}));
            }
            login({status: 'unknown', authResponse: null});
            window.close();
          });
        })();
        </script>
        """

    static let sdkScript = """
        (function () {
          var script = document.currentScript;
          var origin = script ? new URL(script.src, location.href).origin : location.origin;
          var settings = null;
          var FB = window.FB = {
            init: function (options) { settings = options || {}; },
            getLoginStatus: function (callback) { callback({status: 'unknown', authResponse: null}); },
            login: function (callback, options) {
              options = options || {};
              if (!settings) { console.error('FB.login() called before FB.init().'); return; }
              var extras = options.extras || {};
              var query = new URLSearchParams({app_id: settings.appId || '', config_id: options.config_id || '',
                response_type: options.response_type || '', feature_type: extras.featureType || ''});
              var popup = window.open(origin + '/_fake/popup?' + query.toString(), 'fb_embedded_signup', 'width=600,height=720');
              if (!popup) { callback({status: 'unknown', authResponse: null}); return; }
              var done = false, timer;
              function finish(response) {
                if (done) return;
                done = true; clearInterval(timer); window.removeEventListener('message', onMessage);
                callback(response);
              }
              function onMessage(event) {
                if (event.origin !== origin || !event.data || event.data.type !== 'FAKE_FB_LOGIN_RESULT') return;
                finish(event.data.response);
              }
              window.addEventListener('message', onMessage);
              // Closed without an answer: what Meta's SDK reports too.
              timer = setInterval(function () { if (popup.closed) setTimeout(function () { finish({status: 'unknown', authResponse: null}); }, 300); }, 250);
            }
          };
          if (typeof window.fbAsyncInit === 'function') setTimeout(window.fbAsyncInit, 0);
        })();
        """
}
