/// The admin tables, as ProxySQL names them. Memory tables are edited by SQL; LOAD … TO RUNTIME applies them.
enum MuxAdminSchema {
    static let configTables = [
        """
        CREATE TABLE IF NOT EXISTS mysql_servers (
            hostgroup_id INT CHECK (hostgroup_id >= 0) NOT NULL DEFAULT 0,
            hostname VARCHAR NOT NULL,
            port INT CHECK (port >= 0 AND port <= 65535) NOT NULL DEFAULT 3306,
            status VARCHAR CHECK (UPPER(status) IN ('ONLINE','SHUNNED','OFFLINE_SOFT','OFFLINE_HARD')) NOT NULL DEFAULT 'ONLINE',
            weight INT CHECK (weight >= 0) NOT NULL DEFAULT 1,
            max_connections INT CHECK (max_connections >= 0) NOT NULL DEFAULT 1000,
            comment VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (hostgroup_id, hostname, port))
        """,
        """
        CREATE TABLE IF NOT EXISTS mysql_users (
            username VARCHAR NOT NULL,
            password VARCHAR,
            active INT CHECK (active IN (0,1)) NOT NULL DEFAULT 1,
            default_hostgroup INT NOT NULL DEFAULT 0,
            default_schema VARCHAR,
            max_connections INT CHECK (max_connections >= 0) NOT NULL DEFAULT 10000,
            comment VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (username))
        """,
        """
        CREATE TABLE IF NOT EXISTS global_variables (
            variable_name VARCHAR NOT NULL PRIMARY KEY,
            variable_value VARCHAR NOT NULL)
        """,
    ]

    static let statsTables = [
        """
        CREATE TABLE stats_mysql_connection_pool (hostgroup INT, srv_host VARCHAR, srv_port INT, status VARCHAR,
            ConnUsed INT, ConnFree INT, ConnOK INT, ConnERR INT, Queries INT, Latency_us INT)
        """,
        """
        CREATE TABLE stats_mysql_processlist (SessionID INT, user VARCHAR, db VARCHAR, cli_host VARCHAR, cli_port INT,
            hostgroup INT, srv_host VARCHAR, srv_port INT, command VARCHAR, time_ms INT, info VARCHAR, pinned_reason VARCHAR)
        """,
        "CREATE TABLE stats_mysql_global (Variable_Name VARCHAR NOT NULL PRIMARY KEY, Variable_Value VARCHAR NOT NULL)",
        """
        CREATE TABLE runtime_mysql_servers (hostgroup_id INT, hostname VARCHAR, port INT, status VARCHAR, weight INT,
            max_connections INT, comment VARCHAR)
        """,
        """
        CREATE TABLE monitor.mysql_server_ping_log (hostname VARCHAR NOT NULL, port INT NOT NULL DEFAULT 3306,
            time_start_us INT NOT NULL DEFAULT 0, ping_success_time_us INT DEFAULT 0, ping_error VARCHAR)
        """,
        """
        CREATE TABLE monitor.mysql_server_connect_log (hostname VARCHAR NOT NULL, port INT NOT NULL DEFAULT 3306,
            time_start_us INT NOT NULL DEFAULT 0, connect_success_time_us INT DEFAULT 0, connect_error VARCHAR)
        """,
    ]

    /// Tables filled from the running mux when a statement reads them; never written by SQL.
    static let liveTableMarkers = ["stats_mysql", "runtime_mysql_servers", "monitor."]

    /// Every variable Breakwater knows, with its default; unknown names are refused at LOAD time.
    static let defaultVariables: [(String, String)] = [
        ("mysql-max_connections", "2048"),
        ("mysql-multiplexing", "true"),
        ("mysql-connect_timeout_server", "1000"),
        ("mysql-connect_timeout_server_max", "10000"),
        ("mysql-free_connections_pct", "10"),
        ("mysql-monitor_enabled", "true"),
        ("mysql-monitor_connect_interval", "60000"),
        ("mysql-monitor_connect_timeout", "600"),
        ("mysql-monitor_ping_interval", "10000"),
        ("mysql-monitor_ping_timeout", "1000"),
        ("mysql-monitor_ping_max_failures", "3"),
        ("mysql-monitor_history_rows", "10000"),
        ("mysql-monitor_username", "monitor"),
        ("mysql-monitor_password", "monitor"),
    ]

    static let tableNames = ["servers": "mysql_servers", "users": "mysql_users", "variables": "global_variables"]
}
