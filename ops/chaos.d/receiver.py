"""An event endpoint for ops/chaos: fails a share of requests at random with 500, records
which event ids it accepted (200) and how many requests it saw, and writes both to a JSON
file when it is told to stop (SIGTERM)."""
import json, random, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, fail_share, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
accepted, requests = set(), [0]

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            requests[0] += 1
        if random.random() < fail_share:
            self.send_response(500); self.end_headers(); return
        try:
            event_id = json.loads(body)["id"]
        except Exception:
            self.send_response(400); self.end_headers(); return
        with lock:
            accepted.add(event_id)
        self.send_response(200); self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
def stop(*_):
    with lock:
        json.dump({"accepted": sorted(accepted), "requests": requests[0]}, open(out, "w"))
    threading.Thread(target=server.shutdown).start()
signal.signal(signal.SIGTERM, stop)
server.serve_forever()
