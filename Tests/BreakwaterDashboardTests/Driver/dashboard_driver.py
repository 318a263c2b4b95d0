#!/usr/bin/python3
"""Drives the live dashboard in headless Chromium over the DevTools protocol while Breakwater serves traffic.

Starts (each on a free loopback port, each stopped by PID): a Python HTTP backend, `breakwater proxy` with a
stats page, a traffic thread through the proxy, and Chromium. Navigates between every view PASSES times and
checks that canvases, WebGL contexts, DOM nodes and the JS heap after GC stay within a small bound of the
first pass. Prints one JSON object with the measurements; exit status 0 = pass, 1 = a bound was exceeded,
2 = the harness could not run (message on stderr).

Usage: dashboard_driver.py BREAKWATER_BIN OUT_DIR [PASSES]
"""
import base64, http.server, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

try:
    import websocket  # Debian python3-websocket
except ImportError:
    sys.stderr.write("python3-websocket is missing: apt-get install python3-websocket (scripts/install-test-deps.sh)\n")
    sys.exit(2)

VIEWS = ["#/overview", "#/backend/web", "#/tables", "#/mux", "#/telemetry", "#/jobs", "#/backend/api"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 500 if self.path.startswith("/fail") else 200
        body = b"ok\n"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # layer-4 health checks close with a reset; nothing to report


class DevTools:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression, await_promise=False):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page exception: {r['exceptionDetails']}")
        return r["result"].get("value")


# Counts WebGL contexts the page creates and loses (the page itself uses 2D canvases only).
COUNT_WEBGL = """
(() => {
  window.__webgl = {created: 0, lost: 0};
  const orig = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function(kind, ...rest) {
    const ctx = orig.call(this, kind, ...rest);
    if (ctx && /webgl/.test(kind) && !this.__counted) { this.__counted = true; window.__webgl.created++;
      this.addEventListener('webglcontextlost', () => window.__webgl.lost++); }
    return ctx;
  };
})();
"""

MEASURE = """
(() => ({canvases: document.querySelectorAll('canvas').length,
         webgl: window.__webgl.created - window.__webgl.lost,
         domNodes: document.getElementsByTagName('*').length,
         ticks: window.__dashboard.ticks, series: window.__dashboard.series, rows: window.__dashboard.rows}))()
"""


def measure(dt):
    dt.call("HeapProfiler.collectGarbage")
    dt.call("HeapProfiler.collectGarbage")
    m = dt.eval(MEASURE)
    m["heapUsed"] = dt.call("Runtime.getHeapUsage")["usedSize"]
    metrics = {x["name"]: x["value"] for x in dt.call("Performance.getMetrics")["metrics"]}
    m["nodesIncludingDetached"] = int(metrics.get("Nodes", 0))
    m["jsEventListeners"] = int(metrics.get("JSEventListeners", 0))
    return m


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    binary, out_dir = sys.argv[1], sys.argv[2]
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    os.makedirs(out_dir, exist_ok=True)
    chromium = shutil.which("chromium")
    if not chromium:
        sys.stderr.write("chromium is missing: apt-get install chromium (scripts/install-test-deps.sh)\n")
        return 2
    tmp = tempfile.mkdtemp(prefix="bw-dash-")
    procs = []
    backend = QuietServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    stop = threading.Event()
    try:
        port, mux_port, telemetry_port, jobs_port = free_port(), free_port(), free_port(), free_port()
        cfg = os.path.join(tmp, "dash.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
    maxconn 200
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-request 5s
frontend fe
    bind 127.0.0.1:{port}
    stats enable
    stats uri /stats
    stick-table type ip size 10k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    use_backend api if {{ path_beg /api }}
    default_backend web
backend web
    server s1 127.0.0.1:{backend.server_address[1]} maxconn 50 check
    server s2 127.0.0.1:{backend.server_address[1]} maxconn 50
backend api
    server a1 127.0.0.1:{backend.server_address[1]} maxconn 20
    server gone 127.0.0.1:{free_port()} maxconn 20 check inter 500ms fall 1

mysql-mux main
    bind 127.0.0.1:{mux_port}
    admin bind 127.0.0.1:{free_port()} user admin password admin
    server db1 127.0.0.1:{free_port()} hostgroup 10 max-connections 10
    user app password secret default-hostgroup 10
    max-client-connections 100

telemetry scada
    bind 127.0.0.1:{telemetry_port}
    state memory
    log dir {tmp}/telemetry-log
    window 1s
    sink sqlite {tmp}/telemetry.db table machine_heartbeat key machine_id

jobs render
    bind 127.0.0.1:{jobs_port}
    queue dir {tmp}/jobs
    command /bin/cat
    workers 2
    timeout 10s
""")
        proxy = subprocess.Popen([binary, "proxy", "-f", cfg], stdout=open(os.path.join(tmp, "proxy.log"), "w"),
                                 stderr=subprocess.STDOUT)
        procs.append(proxy)
        # The edge frontend and every data-tier listener (mux, telemetry, jobs) must be up.
        for p in (port, mux_port, telemetry_port, jobs_port):
            if not wait_listening(p, proxy):
                sys.stderr.write(f"breakwater proxy did not listen on 127.0.0.1:{p}: " + open(os.path.join(tmp, "proxy.log")).read())
                return 2

        served = {"ok": 0, "err": 0, "heartbeats": 0, "jobs": 0}

        def traffic():
            paths = ["/", "/api/x", "/fail", "/", "/api/y"]
            k = 0
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{paths[k % len(paths)]}", timeout=5) as r:
                        r.read()
                    served["ok"] += 1
                except Exception:
                    served["err"] += 1
                if k % 10 == 0:
                    try:
                        body = json.dumps({"machine_id": f"press-{k % 7}", "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                                           "fields": {"rpm": k}}).encode()
                        req = urllib.request.Request(f"http://127.0.0.1:{telemetry_port}/v1/heartbeats", data=body,
                                                     headers={"content-type": "application/json"})
                        urllib.request.urlopen(req, timeout=5).read()
                        served["heartbeats"] += 1
                    except Exception:
                        served["err"] += 1
                if k % 50 == 0:
                    try:
                        req = urllib.request.Request(f"http://127.0.0.1:{jobs_port}/v1/jobs", data=b"blueprint")
                        urllib.request.urlopen(req, timeout=5).read()
                        served["jobs"] += 1
                    except Exception:
                        served["err"] += 1
                k += 1
                time.sleep(0.01)
        threading.Thread(target=traffic, daemon=True).start()

        # The old views stay for scripts: the HAProxy-style table at the stats URI, and ;csv.
        table = urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5).read().decode()
        csv = urllib.request.urlopen(f"http://127.0.0.1:{port}/stats;csv", timeout=5).read().decode()
        if "<table" not in table or not csv.startswith("# pxname,svname,"):
            sys.stderr.write("the static stats page or ;csv is missing\n")
            return 1

        profile = os.path.join(tmp, "profile")
        chrome = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--use-angle=swiftshader",
                                   "--enable-unsafe-swiftshader", "--disable-ipc-flooding-protection",
                                   "--remote-debugging-port=0", "--remote-allow-origins=*", "--no-first-run",
                                   "--disable-gpu-sandbox", "--window-size=1280,900", f"--user-data-dir={profile}",
                                   "about:blank"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chrome.log"), "w"))
        procs.append(chrome)
        active = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(active) and len(open(active).read().split()) >= 1):
            if time.time() > deadline or chrome.poll() is not None:
                sys.stderr.write("chromium did not start: " + open(os.path.join(tmp, "chrome.log")).read()[-2000:])
                return 2
            time.sleep(0.1)
        devtools_port = int(open(active).read().split()[0])
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=10))
        page = next(p for p in pages if p.get("type") == "page")
        dt = DevTools(page["webSocketDebuggerUrl"])
        for domain in ["Page", "Runtime", "Performance"]:
            dt.call(domain + ".enable")
        dt.call("Page.addScriptToEvaluateOnNewDocument", source=COUNT_WEBGL)
        dt.call("Page.navigate", url=f"http://127.0.0.1:{port}/stats/live#/overview")
        deadline = time.time() + 20
        while not dt.eval("window.__dashboard ? window.__dashboard.ticks : 0") >= 2:
            if time.time() > deadline:
                sys.stderr.write("the dashboard received no snapshots over /stats/events\n")
                return 1
            time.sleep(0.2)

        def navigate(view):
            return dt.eval("""new Promise((resolve) => {
              const want = %s.slice(1);
              if (window.__dashboard.view === want.replace(/^\\//, '')) { resolve(window.__dashboard.view); return; }
              window.addEventListener('dashboard-routed', () => resolve(window.__dashboard.view), {once: true});
              location.hash = %s;
            })""" % (json.dumps(view), json.dumps(view)), await_promise=True)

        first = None
        routed = 0
        for p in range(passes):
            for v in VIEWS:
                got = navigate(v)
                if got != v[2:]:
                    sys.stderr.write(f"view {v} routed to {got}\n")
                    return 1
                routed += 1
            if p == 0:
                first = measure(dt)
                first_gauges = dt.eval("window.__last.s.gauges")
                # MySQL clients connect after the first pass: the mux's client_connections gauge must move.
                mux_clients = [socket.create_connection(("127.0.0.1", mux_port), timeout=5) for _ in range(3)]
        time.sleep(2.5)  # two more snapshots after the last traffic sample
        last_gauges = dt.eval("window.__last.s.gauges")
        views = {}
        for v, div in (("#/mux", "g-mysql-mux"), ("#/telemetry", "g-telemetry"), ("#/jobs", "g-jobs")):
            navigate(v)
            views[v] = dt.eval(f"document.getElementById('{div}').textContent")
            with open(os.path.join(out_dir, f"dashboard-{v[2:]}.png"), "wb") as f:  # for a person to look at
                f.write(base64.b64decode(dt.call("Page.captureScreenshot", format="png")["data"]))
        navigate("#/mux")
        mux_text = views["#/mux"]
        navigate("#/backend/web")
        server_rows = dt.eval("document.getElementById('t-servers').rows.length")
        navigate("#/overview")
        time.sleep(1.2)  # one more snapshot drawn on the overview for the screenshot
        last = measure(dt)
        shot = dt.call("Page.captureScreenshot", format="png")["data"]
        png = os.path.join(out_dir, "dashboard.png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot))
        nav_links = dt.eval("Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))")
        result = {"passes": passes, "navigations": routed, "first": first, "last": last, "screenshot": png,
                  "navLinks": nav_links, "traffic": served,
                  "muxView": mux_text, "webServerRows": server_rows, "views": views,
                  "firstGauges": first_gauges, "lastGauges": last_gauges}
        failures = []
        if last["canvases"] != first["canvases"]:
            failures.append("canvas count changed")
        if last["webgl"] > first["webgl"]:
            failures.append("WebGL contexts grew")
        if last["domNodes"] > first["domNodes"] + 50:
            failures.append("DOM nodes grew")
        if last["nodesIncludingDetached"] > first["nodesIncludingDetached"] + 200:
            failures.append("DOM nodes (including detached) grew")
        if last["heapUsed"] > first["heapUsed"] * 1.5 + 1_000_000:
            failures.append("JS heap after GC grew")
        if last["ticks"] <= first["ticks"]:
            failures.append("no snapshots arrived while navigating")
        for v, text in views.items():
            if "not configured" in (text or "") or not any(c.isdigit() for c in (text or "")):
                failures.append(f"the {v} view shows no gauges: {text!r}")

        def gauge(snapshot, section, name):
            return (snapshot or {}).get(section, {}).get(name, 0)
        moves = [("mysql-mux", "main.client_connections"), ("telemetry", "scada.records_accepted_total"),
                 ("jobs", "render.enqueued_total")]
        for section, name in moves:
            if not gauge(last_gauges, section, name) > gauge(first_gauges, section, name):
                failures.append(f"gauge {section} {name} did not move: {gauge(first_gauges, section, name)} -> {gauge(last_gauges, section, name)}")
        if "main.backend_connections_127.0.0.1" not in " ".join((last_gauges or {}).get("mysql-mux", {}).keys()):
            failures.append("no backend-connections gauge per mux server")
        for c in mux_clients:
            c.close()
        if server_rows != 2:
            failures.append(f"backend web shows {server_rows} server rows, expected 2")
        if served["ok"] == 0:
            failures.append("the proxy served no traffic")
        result["failures"] = failures
        print(json.dumps(result))
        return 1 if failures else 0
    finally:
        stop.set()
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        backend.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
