//! Readiness: where the app listens, learned without touching it.
//!
//! `run` never connects to the app to see whether it is up: a connection is a real client
//! (servers log it, and an app that accepts one connection would serve it and exit).
//! Listening sockets are observed instead, and every observation is a [`SocketAddr`] sent
//! on one channel:
//!
//! - on the embedded engine, by the guest's own successful `sock_listen`
//!   (`wasock_engine::PreparedApp::on_listen`), which knows the bound address and port;
//! - on WasmEdge, by [`watch_process`]: the child's socket inodes (`/proc/<pid>/fd`)
//!   matched against the LISTEN entries of the kernel's tables (`/proc/<pid>/net/tcp`
//!   and `tcp6`), polled. Only the child's own sockets count, never anyone else's.
//!
//! [`Reporter`] decides what to say. The app's own `listening on …` line is the main
//! announcement, so `run` prints a URL only when it adds something: with `--port 0`
//! (the OS picked the port), with `-v` (every listener), and as a warning when `--port N`
//! was given but the app listens elsewhere. With `--port N` and no listener after
//! [`SLOW_START_NOTICE`], a note says so.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ui::printer::{Printer, Verbosity};

/// How long to wait before saying the app has not started listening on `--port N`.
pub const SLOW_START_NOTICE: Duration = Duration::from_secs(30);

/// How long a listener elsewhere may stand alone before the `--port N` warning: an app may
/// open another port (metrics, admin) just before the one it was given.
pub const ELSEWHERE_GRACE: Duration = Duration::from_secs(1);

/// The URL a client can use for a listener: a wildcard address (`0.0.0.0`, `::`) becomes
/// the loopback address of its family, IPv6 goes in brackets.
pub fn url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, address.port()))
}

/// `--message-format json`'s `listening`: a socket the app put into the listening state.
#[derive(serde::Serialize)]
struct ListeningMessage {
    /// A URL a client can use (a wildcard address shown as loopback).
    url: String,
    /// The address as bound, e.g. `0.0.0.0:8080`.
    addr: SocketAddr,
}

/// Says what the observed listeners add to what the user knows; see the module docs.
pub struct Reporter {
    /// `--port N`: the port the user said the app listens on (0: the OS picks).
    claimed: Option<u16>,
    printer: Printer,
    /// Set once there is nothing more to say, so a poller may stop.
    done: Arc<AtomicBool>,
}

/// A running [`Reporter`]; dropping it waits until every sender is gone.
pub struct Reporting {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reporting {
    /// True once the reporter has nothing more to say (a poller may stop looking).
    pub fn done_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.done)
    }
}

impl Drop for Reporting {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Reporter {
    /// None when nothing would ever be said: no `--port`, no `-v` and no
    /// `--message-format json` (whose `listening` message names every listener).
    pub fn new(claimed: Option<u16>, printer: &Printer) -> Option<Reporter> {
        if claimed.is_none()
            && printer.verbosity() != Verbosity::Verbose
            && !printer.json_messages()
        {
            return None;
        }
        Some(Reporter {
            claimed,
            printer: printer.clone(),
            done: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Report, on a thread of its own, every address sent on the returned sender; the
    /// thread ends when all senders are dropped.
    pub fn start(self) -> (Sender<SocketAddr>, Reporting) {
        let (sender, listeners) = mpsc::channel();
        let done = Arc::clone(&self.done);
        let thread = std::thread::spawn(move || self.report(listeners));
        (
            sender,
            Reporting {
                done,
                thread: Some(thread),
            },
        )
    }

    fn report(self, listeners: Receiver<SocketAddr>) {
        let verbose = self.printer.verbosity() == Verbosity::Verbose;
        // Every listener is reported (to people with `-v`, as a message in JSON mode).
        let every = verbose || self.printer.json_messages();
        let started = Instant::now();
        let mut on_claimed = false;
        // The first listener not on the claimed port, and when it was seen.
        let mut elsewhere: Option<(SocketAddr, Instant)> = None;
        let mut said_elsewhere = false;
        let mut said_slow = false;
        let mut seen_any = false;
        loop {
            let finished = match self.claimed {
                _ if every => false,
                Some(0) => seen_any,
                Some(_) => on_claimed || said_elsewhere,
                None => true,
            };
            if finished {
                self.done.store(true, Ordering::Relaxed);
            }
            // Wake for the next deadline: the grace for a listener elsewhere, or the slow-start note.
            let deadline = match (self.claimed, elsewhere) {
                (Some(port), _) if port == 0 || on_claimed || said_elsewhere => None,
                (Some(_), Some((_, seen))) => Some(seen + ELSEWHERE_GRACE),
                (Some(_), None) if !said_slow => Some(started + SLOW_START_NOTICE),
                _ => None,
            };
            let received = match deadline {
                Some(deadline) => {
                    listeners.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => listeners.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(address) => {
                    // With `--port 0`, the first listener is the port the OS picked.
                    let picked = self.claimed == Some(0) && !seen_any;
                    seen_any = true;
                    let matches = self.claimed.is_some_and(|port| port == address.port());
                    self.printer.message(
                        "listening",
                        &ListeningMessage {
                            url: url(address),
                            addr: address,
                        },
                    );
                    on_claimed |= matches;
                    if verbose || picked {
                        self.printer.status("Listening", url(address));
                    }
                    if self.claimed.is_some_and(|port| port != 0) && !matches && elsewhere.is_none()
                    {
                        elsewhere = Some((address, Instant::now()));
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let Some(port) = self.claimed else { continue };
                    match elsewhere {
                        Some((address, _)) => {
                            self.printer.warn(format!(
                                "`--port {port}` was given, but the app listens on {} and not on port {port} (does it read PORT?)",
                                url(address)
                            ));
                            said_elsewhere = true;
                        }
                        None => {
                            self.printer.note(format!(
                                "the app has not started listening on port {port} yet"
                            ));
                            said_slow = true;
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// How often to look at the child's sockets: soon after the start, then less often.
const FIRST_POLL: Duration = Duration::from_millis(10);
const MAX_POLL: Duration = Duration::from_millis(500);

/// Watch the process `pid` (the WasmEdge child) for listening TCP sockets, sending each
/// new one's address on `listeners` until `stop` is set; Linux only (elsewhere nothing is
/// observed). The thread sleeps between looks with `park_timeout`: whoever sets `stop` may
/// unpark it (`JoinHandle::thread().unpark()`) to have it end at once.
pub fn watch_process(
    pid: u32,
    listeners: Sender<SocketAddr>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reported: HashSet<u64> = HashSet::new();
        let mut pause = FIRST_POLL;
        while !stop.load(Ordering::Relaxed) {
            for (inode, address) in listening_sockets(pid) {
                if reported.insert(inode) && listeners.send(address).is_err() {
                    return;
                }
            }
            std::thread::park_timeout(pause);
            pause = (pause * 3 / 2).min(MAX_POLL);
        }
    })
}

/// The listening TCP sockets process `pid` holds: (inode, bound address). Empty when the
/// process or `/proc` cannot be read.
fn listening_sockets(pid: u32) -> Vec<(u64, SocketAddr)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let owned: HashSet<u64> = entries
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| socket_inode(&target.to_string_lossy()))
        .collect();
    if owned.is_empty() {
        return Vec::new();
    }
    // The child's own view: its network namespace's tables.
    let mut found = Vec::new();
    for table in ["tcp", "tcp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) {
            found.extend(
                parse_listeners(&text)
                    .into_iter()
                    .filter(|(inode, _)| owned.contains(inode)),
            );
        }
    }
    found
}

/// Whether any socket in this network namespace listens on `address` (exactly that IP and
/// port), by the kernel's tables (`/proc/net/tcp`, `tcp6`): how `watch` sees that a stopped
/// app's port is free again without connecting to it. False when `/proc` cannot be read.
pub fn is_listening(address: SocketAddr) -> bool {
    ["tcp", "tcp6"].into_iter().any(|table| {
        std::fs::read_to_string(format!("/proc/net/{table}")).is_ok_and(|text| {
            parse_listeners(&text)
                .into_iter()
                .any(|(_, listening)| listening == address)
        })
    })
}

/// `socket:[12345]` (an fd's link target) → 12345.
fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The LISTEN entries (state `0A`) of a `/proc/net/tcp` or `tcp6` table: (inode, address).
fn parse_listeners(table: &str) -> Vec<(u64, SocketAddr)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&"0A") {
                return None;
            }
            let address = parse_address(fields.get(1)?)?;
            let inode = fields.get(9)?.parse().ok()?;
            Some((inode, address))
        })
        .collect()
}

/// `0100007F:1F90` or a 32-digit IPv6 form. The kernel prints the address as 32-bit words
/// in host byte order (`%08X` of each word as stored), the port in plain hex.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in ip.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_connectable() {
        let cases = [
            ("0.0.0.0:8080", "http://127.0.0.1:8080/"),
            ("[::]:8080", "http://[::1]:8080/"),
            ("127.0.0.2:99", "http://127.0.0.2:99/"),
            ("[fe80::1]:1", "http://[fe80::1]:1/"),
        ];
        for (address, expected) in cases {
            assert_eq!(url(address.parse().unwrap()), expected);
        }
    }

    #[test]
    fn kernel_tables_give_listeners_and_their_addresses() {
        // Lines as Linux prints them (little-endian host): a listener on 127.0.0.2:8080,
        // an established connection, a listener on 0.0.0.0:2024.
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000078592b54 100 0 0 10 0\n\
   1: 0200007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000078592b54 100 0 0 10 0\n\
   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 624 1 0000000078592b54 100 0 0 10 0\n";
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";
        if cfg!(target_endian = "little") {
            assert_eq!(
                parse_listeners(tcp),
                vec![
                    (4242, "127.0.0.2:8080".parse().unwrap()),
                    (624, "0.0.0.0:2024".parse().unwrap())
                ]
            );
            assert_eq!(
                parse_listeners(tcp6),
                vec![(777, "[::1]:80".parse().unwrap())]
            );
        }
        assert_eq!(socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(socket_inode("pipe:[4242]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn a_listener_of_this_process_is_found_in_the_kernel_tables() {
        let listener = std::net::TcpListener::bind("127.0.0.3:0").unwrap();
        let address = listener.local_addr().unwrap();
        let connected = std::net::TcpStream::connect(address).unwrap();
        let found: Vec<SocketAddr> = listening_sockets(std::process::id())
            .into_iter()
            .map(|(_, address)| address)
            .collect();
        assert!(found.contains(&address), "{address} not in {found:?}");
        let client = connected.local_addr().unwrap();
        assert!(
            !found.contains(&client),
            "a connection counted as a listener"
        );
        assert!(is_listening(address));
        assert!(!is_listening(client));
        drop(listener);
        assert!(!is_listening(address), "a closed listener still counted");
    }
}
