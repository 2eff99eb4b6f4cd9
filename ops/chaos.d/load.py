"""Front load for ops/chaos: POSTs onboarding sessions from several threads for a while and
counts the answers by status, checking that every 503 is `unavailable` with Retry-After.
Prints one JSON line: counts, created session ids count, and 503s lacking Retry-After."""
import json, sys, threading, time, urllib.request, urllib.error

base, key, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
body = json.dumps({"tenantId": "chaos", "successRedirectUrl": "https://app.example.com/ok",
                   "failureRedirectUrl": "https://app.example.com/no", "cancelRedirectUrl": "https://app.example.com/x",
                   "webhookOverrideUrl": "https://hooks.example.com/w", "webhookVerifyToken": "chaos-token"}).encode()
lock = threading.Lock()
counts, created, bad_503 = {}, [], [0]
deadline = time.time() + seconds

def worker():
    while time.time() < deadline:
        request = urllib.request.Request(base + "/api/v1/onboarding/sessions", data=body, method="POST",
                                         headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, payload = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, payload = error.code, None
            if status == 503:
                envelope = json.loads(error.read() or b"{}")
                if not error.headers.get("Retry-After") or envelope.get("error", {}).get("code") != "unavailable":
                    with lock:
                        bad_503[0] += 1
        except Exception:
            status, payload = "connection_error", None
            time.sleep(0.05)
        with lock:
            counts[str(status)] = counts.get(str(status), 0) + 1
            if status == 201:
                created.append(payload["sessionId"])
        if status != 201:
            time.sleep(0.05)

threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"counts": counts, "created": len(created), "bad503": bad_503[0], "ids": created}))
