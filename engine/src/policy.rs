//! The sandbox a guest runs in: where it may connect and listen ([`Policy`], its entries
//! [`Rule`]), how much memory and how many sockets it may hold ([`Sandbox`]), and what the
//! engine tells the embedder when the guest reaches past it ([`SandboxEvent`]).
//!
//! A policy has two independent lists, `allow-connect` and `allow-listen`. A list that is
//! absent allows everything in its direction, exactly as WasmEdge does (no check runs at
//! all); a present list, even an empty one, allows only what one of its entries covers.
//! The checks run only in the calls that choose an address (`sock_connect`,
//! `sock_send_to`, `sock_bind`, `sock_listen` of an unbound socket), never on reads and
//! writes, so a policy costs nothing on the hot path of an established connection.
//!
//! Names are not resolved up front (a name's addresses change, and a lookup at start would
//! add the resolver's time and failure to every start): the addresses a guest's own
//! `sock_getaddrinfo` of a name returns are remembered ([`Resolved`], bounded), and a
//! connect to one of them is judged by the entries for that name.
//!
//! A refused call answers `ACCES` (WASI errno 2): see [`REFUSED`] for why.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;

use super::abi::{Errno, ERRNO_ACCES};

/// The errno a refused connect, send or bind answers: `ACCES` ("permission denied").
///
/// Why this one: it is what Linux itself answers when a sandbox refuses an address
/// (Landlock's `LANDLOCK_ACCESS_NET_CONNECT_TCP`/`BIND_TCP` give `EACCES`), and the layers a
/// guest uses turn it into something that says so and is not retried: Rust's std on
/// wasm32-wasip1 decodes WASI's `ACCES` as `io::ErrorKind::PermissionDenied`, and
/// `wasmedge_wasi_socket` and our `wasock` pass it on unchanged (`from_raw_os_error`), as
/// the engine's tests see through both (`tests/sandbox.rs`: `error 2 PermissionDenied`);
/// `tokio_wasi` passes it on too, by its source (read, not run here): its
/// `TcpStream::connect` (WasmEdge/tokio `tokio/src/net/tcp/stream.rs`) calls `mio_wasi`'s
/// (WasmEdge/mio `src/net/tcp/stream.rs`, feature `wasmedge`), which is
/// `wasmedge_wasi_socket::TcpStream::connect`, whose `sock_connect` errno becomes
/// `from_raw_os_error` at once (0.5.5 `src/socket.rs`); tokio tries each address and
/// returns the last error, so the app's `.await` gets `PermissionDenied` before any poll.
/// That the refusal comes from `sock_connect` itself matters there: `mio_wasi`'s
/// `take_error` is always `Ok(None)`, so an error reported later would be lost. The
/// other candidates are worse: `CONNREFUSED` reads as "the server is down" and makes
/// connection pools retry for ever, and `NOTCAPABLE` (76) is no `ErrorKind` std knows (it
/// becomes `Uncategorized`, "unknown error").
pub const REFUSED: Errno = ERRNO_ACCES;

/// Which list an entry or a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `allow-connect`: TCP connects, UDP sends and connected UDP sockets.
    Connect,
    /// `allow-listen`: binds (a socket that will listen or receive) and listens.
    Listen,
}

impl Direction {
    /// The list's name as users write it: `allow-connect` or `allow-listen`.
    pub fn list_name(self) -> &'static str {
        match self {
            Direction::Connect => "allow-connect",
            Direction::Listen => "allow-listen",
        }
    }
}

/// The host part of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name, lower case, without a trailing dot; matched against the names the
    /// guest looks up (`sock_getaddrinfo`), never resolved by the engine.
    Name(String),
    /// An IP address (a /32 or /128) or a CIDR block.
    Net(IpNet),
}

/// One entry of a list: `HOST[:PORT]` where HOST is a host name, an IP address (IPv6 in
/// brackets when a port follows: `[::1]:8080`) or a CIDR block (`10.0.0.0/8`,
/// `[fd00::/8]:443`), and PORT a number or `*`. A missing port means any port, as `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What addresses it covers.
    pub host: Host,
    /// `None` for any port.
    pub port: Option<u16>,
    /// The entry as written, for messages.
    pub text: String,
}

/// Why an entry is not one: the entry as written and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{entry}` is not a valid entry: {reason}")]
pub struct RuleError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it, lower case, with an example where it helps.
    pub reason: String,
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, RuleError> {
        let fail = |reason: &str| RuleError {
            entry: text.to_owned(),
            reason: reason.to_owned(),
        };
        let entry = text.trim();
        if entry.is_empty() {
            return Err(fail(
                "it is empty; write HOST[:PORT], e.g. `api.example.com:443`",
            ));
        }
        // `[v6 or v6/len]:port`, a bare v6 (more than one colon, no port), or `host:port`.
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| fail("a `[` without its `]`"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| fail("only `:PORT` may follow `]`"))?,
                ),
            };
            if !inside.contains(':') {
                return Err(fail("brackets are for IPv6 addresses"));
            }
            (inside, port)
        } else if entry.matches(':').count() > 1 {
            (entry, None)
        } else {
            match entry.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (entry, None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(port) => Some(port.parse::<u16>().map_err(|_| {
                fail("the port must be a number from 0 to 65535, or `*` for any port")
            })?),
        };
        let host = parse_host(host).map_err(|reason| fail(&reason))?;
        Ok(Rule {
            host,
            port,
            text: entry.to_owned(),
        })
    }
}

fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("the host is missing".to_owned());
    }
    if host.contains('/') {
        // ipnet rejects a block with host bits set only through `trunc`; `10.1.2.3/8`
        // is taken as written and matched as the block it names.
        return host
            .parse::<IpNet>()
            .map(|net| Host::Net(net.trunc()))
            .map_err(|_| "not a CIDR block (e.g. `10.0.0.0/8`, `fd00::/8`)".to_owned());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Host::Net(IpNet::from(ip)));
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(
            "not a host name, an IP address or a CIDR block (names are letters, digits, `-` and `.`)"
                .to_owned(),
        );
    }
    // All digits and dots, but no IP address: `10.0.0.300`, a typo rather than a name.
    if name.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("not a valid IP address".to_owned());
    }
    Ok(Host::Name(name))
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Rule {
    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|allowed| allowed == port)
    }
}

/// Where a guest may connect and listen; `Policy::default()` allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `allow-connect`; `None`: any destination.
    pub connect: Option<Vec<Rule>>,
    /// `allow-listen`; `None`: any local address.
    pub listen: Option<Vec<Rule>>,
}

impl Policy {
    /// Whether any list is set (the engine then refuses what the lists do not cover).
    pub fn is_restrictive(&self) -> bool {
        self.connect.is_some() || self.listen.is_some()
    }

    fn rules(&self, direction: Direction) -> Option<&[Rule]> {
        match direction {
            Direction::Connect => self.connect.as_deref(),
            Direction::Listen => self.listen.as_deref(),
        }
    }

    fn has_names(&self) -> bool {
        [&self.connect, &self.listen]
            .into_iter()
            .flatten()
            .flatten()
            .any(|rule| matches!(rule.host, Host::Name(_)))
    }
}

/// What a guest may use: its network policy and its limits. The default is WasmEdge's:
/// everything allowed, memory up to wasm32's 4 GiB, and sockets up to
/// [`default_max_sockets`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    pub policy: Policy,
    /// The most linear memory the guest may have, in bytes (a `memory.grow` beyond it
    /// fails, as wasm's own maximum makes it fail). `None`: no limit beyond wasm's.
    pub memory_limit: Option<u64>,
    /// The most sockets the guest may have open at once (a `sock_open` or `sock_accept`
    /// beyond it answers `MFILE`, as a process at its descriptor limit). `None`:
    /// [`default_max_sockets`]. Shared by the instances of one `prepare_instances`.
    pub max_sockets: Option<usize>,
}

/// Descriptors kept for the host when the guest's socket count is not given: the engine's
/// cache files, stdio, the resolver's sockets and files (`/etc/hosts`, `resolv.conf`), the
/// epoll set, the CLI's own pipes. Without it, a guest that opens sockets until the process
/// limit leaves even `localhost` lookups failing for the whole process (issue 21).
pub const HOST_RESERVED_FDS: u64 = 256;

/// The socket cap when none is given: the process's soft descriptor limit
/// (`RLIMIT_NOFILE`) less [`HOST_RESERVED_FDS`], at least 64. A guest thus gets every
/// descriptor a native server in this process could use (10,000 connections when the
/// limit allows), and can never take the last ones the host needs.
pub fn default_max_sockets() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        1024
    };
    soft.saturating_sub(HOST_RESERVED_FDS)
        .clamp(64, usize::MAX as u64) as usize
}

/// Something the sandbox did that the embedder should know, each said once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxEvent {
    /// A connect, send or bind the policy refused (each destination once per app, at most
    /// [`MAX_REPORTED`] of them).
    Blocked(Blocked),
    /// A `memory.grow` past [`Sandbox::memory_limit`] failed (once per app).
    MemoryLimitReached {
        /// The limit, in bytes.
        limit: u64,
    },
}

/// A refused destination: `host` is the name the guest looked up for this address when it
/// did (`db.internal`), else the IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Blocked {
    /// Which list did not cover it.
    pub direction: Direction,
    /// The name the guest looked up for the address, else the IP (no brackets).
    pub host: String,
    /// The port the guest asked for (0 for a bind to any port).
    pub port: u16,
}

impl Blocked {
    /// `host:port`, with an IPv6 address in brackets: the entry that would allow it.
    pub fn destination(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Receives [`SandboxEvent`]s, on the guest's thread, inside the call: it should be quick.
pub type EventObserver = Box<dyn FnMut(SandboxEvent) + Send>;

/// Where events go: shared by the socket table and the memory limiter of one guest.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Option<EventObserver>>>);

impl Events {
    /// Have `observer` receive every later event (replacing an earlier observer).
    pub fn set(&self, observer: EventObserver) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    /// Hand `event` to the observer, if there is one (dropped otherwise).
    pub fn send(&self, event: SandboxEvent) {
        if let Some(observer) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            observer(event);
        }
    }
}

/// Distinct refused destinations reported per app; later ones are refused unreported, so
/// a guest cycling through addresses cannot make the embedder queue without bound.
pub const MAX_REPORTED: usize = 1024;

/// Addresses remembered from the guest's lookups: enough for every name a real app uses;
/// the oldest go first.
pub const MAX_RESOLVED: usize = 4096;

/// The names the guest's lookups gave each address, oldest evicted first.
#[derive(Default)]
pub struct Resolved {
    names: HashMap<IpAddr, Vec<Arc<str>>>,
    order: VecDeque<IpAddr>,
}

/// Names remembered per address (several names may share one, `localhost` and the host's
/// own name); a further name replaces the oldest.
const NAMES_PER_ADDRESS: usize = 8;

impl Resolved {
    fn remember(&mut self, ip: IpAddr, name: &Arc<str>) {
        let names = match self.names.get_mut(&ip) {
            Some(names) => names,
            None => {
                if self.order.len() >= MAX_RESOLVED {
                    if let Some(oldest) = self.order.pop_front() {
                        self.names.remove(&oldest);
                    }
                }
                self.order.push_back(ip);
                self.names.entry(ip).or_default()
            }
        };
        if names.iter().any(|known| known == name) {
            return;
        }
        if names.len() >= NAMES_PER_ADDRESS {
            names.remove(0);
        }
        names.push(Arc::clone(name));
    }

    fn names(&self, ip: &IpAddr) -> &[Arc<str>] {
        self.names.get(ip).map(Vec::as_slice).unwrap_or_default()
    }
}

/// A guest's policy at work: the lists, what its lookups returned, what was reported.
#[derive(Default)]
pub struct Guard {
    policy: Policy,
    has_names: bool,
    resolved: Resolved,
    reported: HashSet<Blocked>,
    pub events: Events,
}

impl Guard {
    /// `policy` at work for one guest, its refusals sent to `events`.
    pub fn new(policy: Policy, events: Events) -> Self {
        Guard {
            has_names: policy.has_names(),
            policy,
            resolved: Resolved::default(),
            reported: HashSet::new(),
            events,
        }
    }

    /// Whether any list is set.
    pub fn is_restrictive(&self) -> bool {
        self.policy.is_restrictive()
    }

    /// After a successful `sock_getaddrinfo` of `node`: remember the addresses it gave,
    /// when a list is set (without one nothing is kept).
    pub fn looked_up(&mut self, node: &str, addresses: &[IpAddr]) {
        if !self.is_restrictive() {
            return;
        }
        let name: Arc<str> = Arc::from(node.trim_end_matches('.').to_ascii_lowercase());
        for ip in addresses {
            self.resolved.remember(*ip, &name);
        }
    }

    /// `Ok` when `direction`'s list covers `address` (or there is no list); else the
    /// refusal is reported (once per destination) and [`REFUSED`] returned.
    pub fn check(&mut self, direction: Direction, address: SocketAddr) -> Result<(), Errno> {
        let Some(rules) = self.policy.rules(direction) else {
            return Ok(());
        };
        let ip = canonical(address.ip());
        let port = address.port();
        let names = if self.has_names {
            self.resolved.names(&ip)
        } else {
            &[]
        };
        let allowed = rules.iter().any(|rule| {
            rule.port_matches(port)
                && match &rule.host {
                    Host::Net(net) => net.contains(&ip),
                    Host::Name(name) => {
                        is_localhost(name) && ip.is_loopback()
                            || names.iter().any(|known| **known == **name)
                    }
                }
        });
        if allowed {
            return Ok(());
        }
        let host = self
            .resolved
            .names(&ip)
            .last()
            .map(|name| name.to_string())
            .unwrap_or_else(|| ip.to_string());
        let blocked = Blocked {
            direction,
            host,
            port,
        };
        if self.reported.len() < MAX_REPORTED && !self.reported.contains(&blocked) {
            self.reported.insert(blocked.clone());
            self.events.send(SandboxEvent::Blocked(blocked));
        }
        Err(REFUSED)
    }
}

/// `localhost` and names under `.localhost`, which always mean the loopback addresses
/// (RFC 6761 §6.3): an entry for them covers 127.0.0.0/8 and `::1` without a lookup, since
/// guests need none (`wasock` and most resolvers answer `localhost` themselves).
fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, which a v6 socket connects to as the
/// v4 host) as its IPv4 address, so a v4 entry covers it and a v6 socket cannot slip
/// past one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// How many sockets the guest has open, against its cap; shared by the instances of one
/// `prepare_instances` (one process, one descriptor table).
#[derive(Debug)]
pub struct SocketBudget {
    open: std::sync::atomic::AtomicUsize,
    max: usize,
}

impl SocketBudget {
    /// A budget of `max` open sockets.
    pub fn new(max: usize) -> Self {
        SocketBudget {
            open: std::sync::atomic::AtomicUsize::new(0),
            max,
        }
    }

    /// Take one socket's place, or `false` at the cap.
    pub fn take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .is_ok()
    }

    /// Give back one socket's place.
    pub fn give_back(&self) {
        use std::sync::atomic::Ordering;
        let _ = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                open.checked_sub(1)
            });
    }
}

impl Default for SocketBudget {
    fn default() -> Self {
        SocketBudget::new(default_max_sockets())
    }
}

/// The memory cap the store's limiter enforces: linear memories may grow up to `limit`
/// bytes; the first refusal is reported.
pub struct MemoryLimiter {
    pub limit: Option<u64>,
    reported: bool,
    events: Events,
}

impl MemoryLimiter {
    /// Growth up to `limit` bytes (`None`: no limit); the first refusal goes to `events`.
    pub fn new(limit: Option<u64>, events: Events) -> Self {
        MemoryLimiter {
            limit,
            reported: false,
            events,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let Some(limit) = self.limit else {
            return Ok(true);
        };
        if desired as u64 <= limit {
            return Ok(true);
        }
        if !self.reported {
            self.reported = true;
            self.events.send(SandboxEvent::MemoryLimitReached { limit });
        }
        Ok(false)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn entries_parse_with_their_forms() {
        let net = |text: &str| Host::Net(text.parse().unwrap());
        let cases = [
            (
                "api.example.com:443",
                Host::Name("api.example.com".into()),
                Some(443),
            ),
            (
                "API.Example.com.:443",
                Host::Name("api.example.com".into()),
                Some(443),
            ),
            ("10.0.0.0/8:5432", net("10.0.0.0/8"), Some(5432)),
            ("10.1.2.3/8:*", net("10.0.0.0/8"), None),
            ("127.0.0.1:*", net("127.0.0.1/32"), None),
            ("127.0.0.1", net("127.0.0.1/32"), None),
            ("localhost", Host::Name("localhost".into()), None),
            ("[::1]:8080", net("::1/128"), Some(8080)),
            ("::1", net("::1/128"), None),
            ("[fd00::/8]:443", net("fd00::/8"), Some(443)),
            ("fd00::/8", net("fd00::/8"), None),
        ];
        for (text, host, port) in cases {
            let parsed = rule(text);
            assert_eq!((parsed.host, parsed.port), (host, port), "{text}");
        }
    }

    #[test]
    fn malformed_entries_name_themselves() {
        for text in [
            "",
            "db:",
            "db:99999",
            "db:http",
            "10.0.0.300:80",
            "10.0.0.0/33",
            "[::1",
            "[::1]8080",
            "[127.0.0.1]:80",
            "bad host:80",
            "-x.example:80",
            ":80",
        ] {
            let error = text.parse::<Rule>().expect_err(text);
            assert_eq!(error.entry, text);
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("`{text}` is not a valid entry: ")),
                "{error}"
            );
        }
    }

    fn guard(connect: &[&str]) -> (Guard, Arc<Mutex<Vec<SandboxEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let events = Events::default();
        let sink = Arc::clone(&seen);
        events.set(Box::new(move |event| sink.lock().unwrap().push(event)));
        let policy = Policy {
            connect: Some(connect.iter().map(|text| rule(text)).collect()),
            listen: None,
        };
        (Guard::new(policy, events), seen)
    }

    #[test]
    fn connects_are_judged_by_address_block_port_and_looked_up_name() {
        let (mut guard, seen) = guard(&["127.0.0.1:8080", "10.0.0.0/8:*", "db.internal:5432"]);
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert_eq!(
            guard.check(Direction::Connect, at("127.0.0.1:8080")),
            Ok(())
        );
        assert_eq!(
            guard.check(Direction::Connect, at("[::ffff:127.0.0.1]:8080")),
            Ok(())
        );
        assert_eq!(
            guard.check(Direction::Connect, at("127.0.0.1:8081")),
            Err(REFUSED)
        );
        assert_eq!(
            guard.check(Direction::Connect, at("127.0.0.2:8080")),
            Err(REFUSED)
        );
        assert_eq!(guard.check(Direction::Connect, at("10.9.8.7:1")), Ok(()));
        assert_eq!(
            guard.check(Direction::Connect, at("192.168.1.5:5432")),
            Err(REFUSED)
        );
        guard.looked_up("DB.internal", &["192.168.1.5".parse().unwrap()]);
        assert_eq!(
            guard.check(Direction::Connect, at("192.168.1.5:5432")),
            Ok(())
        );
        assert_eq!(
            guard.check(Direction::Connect, at("192.168.1.5:5433")),
            Err(REFUSED)
        );
        // `localhost` means loopback without a lookup (RFC 6761).
        let (mut local, _) = super::tests::guard(&["localhost:80"]);
        assert_eq!(local.check(Direction::Connect, at("127.0.0.9:80")), Ok(()));
        assert_eq!(local.check(Direction::Connect, at("[::1]:80")), Ok(()));
        assert_eq!(
            local.check(Direction::Connect, at("10.0.0.1:80")),
            Err(REFUSED)
        );
        // Retries report nothing new.
        assert_eq!(
            guard.check(Direction::Connect, at("127.0.0.2:8080")),
            Err(REFUSED)
        );
        // The listen list is absent: anything goes.
        assert_eq!(guard.check(Direction::Listen, at("0.0.0.0:1")), Ok(()));
        let destinations: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|event| match event {
                SandboxEvent::Blocked(blocked) => blocked.destination(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            destinations,
            [
                "127.0.0.1:8081",
                "127.0.0.2:8080",
                "192.168.1.5:5432",
                "db.internal:5433"
            ]
        );
    }

    #[test]
    fn reports_and_remembered_addresses_are_bounded() {
        let (mut guard, seen) = guard(&[]);
        for n in 0..(MAX_REPORTED as u32 + 10) {
            let ip = IpAddr::V4((0x0a00_0000u32 + n).into());
            assert_eq!(
                guard.check(Direction::Connect, SocketAddr::new(ip, 1)),
                Err(REFUSED)
            );
        }
        assert_eq!(seen.lock().unwrap().len(), MAX_REPORTED);
        for n in 0..(MAX_RESOLVED as u32 + 10) {
            guard.looked_up("many.example", &[IpAddr::V4(n.into())]);
        }
        assert_eq!(guard.resolved.names.len(), MAX_RESOLVED);
        assert_eq!(guard.resolved.order.len(), MAX_RESOLVED);
        assert!(
            guard.resolved.names(&IpAddr::V4(0u32.into())).is_empty(),
            "oldest evicted"
        );
    }

    #[test]
    fn the_socket_budget_stops_at_its_cap() {
        let budget = SocketBudget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
        budget.give_back();
        assert!(budget.take());
        assert!(default_max_sockets() >= 64);
    }
}
