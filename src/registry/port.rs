//! Is the registry's host port free? Checked before anything runs (`kindops
//! up` exits 2 when it is not): bound on 127.0.0.1 like the UI port, and a
//! port our own registry container already publishes counts as free (a
//! re-run reuses it). The process holding the port is named when Linux's
//! `/proc` tells it.

/// `Ok(())` when `127.0.0.1:port` can be bound, or when kindops's own
/// running registry container publishes it (`ours`); else the message for
/// exit 2: the port, the process if known, the flags to change it.
pub fn check(port: u16, ours: Option<u16>) -> Result<(), String> {
    if ours == Some(port) {
        return Ok(());
    }
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) => {
            let by = listener(port)
                .map(|(pid, comm)| format!(" by {comm} (pid {pid})"))
                .unwrap_or_default();
            Err(format!(
                "the local registry's port 127.0.0.1:{port} is in use{by} ({e}); stop what listens there (`ss -ltnp 'sport = :{port}'` shows it), or pass --registry-port with another port, or --no-registry"
            ))
        }
    }
}

/// The process listening on TCP `port` in this network namespace: (pid,
/// command name), from `/proc/net/tcp{,6}` (a LISTEN socket, state `0A`,
/// whose local port is `port`; its inode) and `/proc/<pid>/fd/*` (the
/// `socket:[inode]` link). None when not found or not readable (another
/// user's process, macOS).
pub fn listener(port: u16) -> Option<(u32, String)> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| listening_inodes(&text, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let link = link.to_string_lossy();
            if inodes.iter().any(|i| link == format!("socket:[{i}]")) {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                return Some((pid, comm.trim().to_string()));
            }
        }
    }
    None
}

/// The inodes of LISTEN sockets on `port` in a `/proc/net/tcp` table
/// (columns: sl, local_address `HEXIP:HEXPORT`, rem_address, st, …, inode
/// as the 10th; Linux `net/ipv4/tcp_ipv4.c` get_tcp4_sock).
pub fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let local_port = cols.get(1)?.rsplit_once(':')?.1;
            (u16::from_str_radix(local_port, 16).ok()? == port && *cols.get(3)? == "0A")
                .then(|| cols.get(9).map(|s| s.to_string()))
                .flatten()
        })
        .collect()
}
