import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private php-fpm 8.2 master (Debian package `php-fpm`) in the foreground with its own pool on
/// loopback (TCP port or UNIX socket), its own docroot of PHP scripts, stopped by PID.
final class PHPFPM: @unchecked Sendable {
    static let binary = "/usr/sbin/php-fpm8.2"

    enum Listen { case tcp, unix }

    let dir: URL
    let docroot: URL
    /// TCP port, or 0 when listening on a UNIX socket.
    let port: Int
    /// UNIX socket path when `listen: .unix`.
    let socketPath: String?
    let errorLog: URL
    let proc: ManagedProcess

    /// Fails with an actionable message when php-fpm is not installed.
    static func requireInstalled() throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HarnessError.message("\(binary) not found: install the Debian packages php-fpm and php-cli "
                + "(scripts/install-test-deps.sh installs them)")
        }
    }

    /// Starts the pool (`pm = static`, `maxChildren` workers) with `scripts` (file name → PHP source)
    /// in a fresh docroot; waits until it accepts connections.
    static func start(listen: Listen = .tcp, maxChildren: Int = 4, scripts: [String: String]) async throws -> PHPFPM {
        try requireInstalled()
        let dir = try makeTempDir("fpm")
        let docroot = dir.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: docroot, withIntermediateDirectories: true)
        for (name, source) in scripts {
            let url = docroot.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try source.write(to: url, atomically: true, encoding: .utf8)
        }
        // Workers run as nobody: make the tree readable.
        for path in [dir.path, docroot.path] { chmod(path, 0o755) }
        let port = listen == .tcp ? Ports.free() : 0
        let socketPath = listen == .unix ? dir.appendingPathComponent("fpm.sock").path : nil
        let errorLog = dir.appendingPathComponent("fpm-error.log")
        let conf = """
        [global]
        error_log = \(errorLog.path)
        pid = \(dir.appendingPathComponent("fpm.pid").path)
        daemonize = no
        log_level = notice

        [bw]
        user = nobody
        group = nogroup
        listen = \(socketPath ?? "127.0.0.1:\(port)")
        listen.mode = 0666
        listen.backlog = 511
        pm = static
        pm.max_children = \(maxChildren)
        pm.status_path = /fpm-status
        clear_env = no
        catch_workers_output = yes
        decorate_workers_output = no
        request_terminate_timeout = 60s
        php_admin_flag[log_errors] = on
        php_admin_value[display_errors] = off
        php_admin_value[post_max_size] = 64M
        php_admin_value[memory_limit] = 256M

        """
        let confURL = dir.appendingPathComponent("php-fpm.conf")
        try conf.write(to: confURL, atomically: true, encoding: .utf8)
        // -n: no php.ini, so PHP's own defaults apply (error_log unset → errors go to FastCGI STDERR).
        let proc = try ManagedProcess(executable: binary, arguments: ["-F", "-n", "-y", confURL.path, "-p", dir.path], dir: dir)
        let fpm = PHPFPM(dir: dir, docroot: docroot, port: port, socketPath: socketPath, errorLog: errorLog, proc: proc)
        let ready = await waitUntil(timeout: 15) {
            guard proc.isRunning else { return false }
            if let s = socketPath { return FileManager.default.fileExists(atPath: s) }
            return Ports.accepts(port)
        }
        if !ready {
            let log = fpm.errorLogText
            await proc.stop()
            throw HarnessError.message("php-fpm did not start (exit \(String(describing: proc.exitStatus))):\n\(log)\n\(proc.stderr)")
        }
        return fpm
    }

    private init(dir: URL, docroot: URL, port: Int, socketPath: String?, errorLog: URL, proc: ManagedProcess) {
        self.dir = dir
        self.docroot = docroot
        self.port = port
        self.socketPath = socketPath
        self.errorLog = errorLog
        self.proc = proc
    }

    /// A test that threw before `stop()`: SIGTERM the master (it kills its workers) and wait for it,
    /// so no worker outlives the test (SIGKILL of the master alone would orphan them).
    deinit {
        guard proc.isRunning else { return }
        kill(proc.pid, SIGTERM)
        for _ in 0..<100 where proc.isRunning { usleep(20_000) }
    }

    var errorLogText: String { (try? String(contentsOf: errorLog, encoding: .utf8)) ?? "" }

    /// SIGQUIT (graceful), then SIGTERM/SIGKILL, by PID.
    func stop() async {
        proc.signal(SIGQUIT)
        if await proc.waitExit(timeout: 3) == nil { await proc.stop() }
        try? FileManager.default.removeItem(at: dir)
    }

    /// Scripts used by the FastCGI tests.
    static let testScripts: [String: String] = [
        "index.php": #"""
        <?php
        $body = file_get_contents('php://input');
        header('Content-Type: application/json');
        header('X-From-PHP: index');
        $keys = ['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING', 'REQUEST_URI',
                 'REQUEST_METHOD', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'DOCUMENT_ROOT', 'SERVER_NAME', 'SERVER_PORT',
                 'SERVER_PROTOCOL', 'REMOTE_ADDR', 'REMOTE_PORT', 'GATEWAY_INTERFACE', 'HTTP_HOST', 'HTTP_X_CUSTOM',
                 'HTTP_PROXY', 'HTTP_AUTHORIZATION', 'AUTH_TYPE', 'REMOTE_USER', 'HTTPS'];
        $out = [];
        foreach ($keys as $k) { $out[$k] = $_SERVER[$k] ?? null; }
        $out['getenv_HTTP_PROXY'] = getenv('HTTP_PROXY') === false ? null : getenv('HTTP_PROXY');
        $out['body_len'] = strlen($body);
        $out['body_fnv'] = hash('fnv1a64', $body);
        echo json_encode($out);
        """#,
        "notfound.php": #"""
        <?php
        http_response_code(404);
        header('X-From-PHP: notfound');
        echo "no such thing";
        """#,
        "stderr.php": #"""
        <?php
        error_log("bw-stderr-marker " . ($_GET['m'] ?? ''));
        echo "logged";
        """#,
        "slow.php": #"""
        <?php
        usleep((int)($_GET['ms'] ?? 200) * 1000);
        echo "slept";
        """#,
        "big.php": #"""
        <?php
        $n = (int)($_GET['n'] ?? 1048576);
        $chunk = str_repeat('0123456789abcdef', 4096);
        for ($sent = 0; $sent < $n; $sent += strlen($chunk)) { echo substr($chunk, 0, min(strlen($chunk), $n - $sent)); flush(); }
        """#,
    ]
}
