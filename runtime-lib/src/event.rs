//! A readiness event loop: register sockets with a [`Token`] and an [`Interest`], then
//! [`EventLoop::wait`] for the ones that are ready.
//!
//! Readiness is level-triggered on both backends: a socket with unread data is reported on
//! every wait until it is drained. That is what WasmEdge's `poll_oneoff` does (it is
//! stateless: every wait passes the whole subscription list), so natively we ask `polling`
//! for the same mode rather than its default one-shot mode.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use crate::net::Source;

/// Identifies a registered socket in the events [`EventLoop::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// Which readiness to report for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest {
    readable: bool,
    writable: bool,
}

impl Interest {
    /// Report when the socket can be read (or accepted from, or has hung up).
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Report when the socket can be written.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Report both.
    pub const BOTH: Interest = Interest {
        readable: true,
        writable: true,
    };

    /// Whether read readiness is asked for.
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether write readiness is asked for.
    pub fn is_writable(self) -> bool {
        self.writable
    }
}

/// One ready socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The token the socket was registered with.
    pub token: Token,
    /// Reading (or accepting) will not block; also set on hang-up and error so that the
    /// owner reads and learns what happened.
    pub readable: bool,
    /// Writing will not block.
    pub writable: bool,
}

/// The event loop. One per thread; sockets must be deregistered before they are dropped.
pub struct EventLoop {
    backend: Backend,
    /// Registered descriptors; the wasm backend builds its subscriptions from this, and both
    /// backends use it to refuse double registration and unknown deregistration.
    registered: HashMap<std::os::fd::RawFd, (Token, Interest)>,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("registered", &self.registered.len())
            .finish()
    }
}

impl EventLoop {
    /// Creates an event loop.
    pub fn new() -> io::Result<EventLoop> {
        Ok(EventLoop {
            backend: Backend::new()?,
            registered: HashMap::new(),
        })
    }

    /// Starts watching `source` for `interest`, reporting it as `token`.
    pub fn register(
        &mut self,
        source: &impl Source,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let fd = source.raw_fd();
        if self.registered.contains_key(&fd) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "descriptor {fd} is already registered; help: register a socket once, and \
                     deregister it before dropping it"
                ),
            ));
        }
        self.backend.add(fd, token, interest)?;
        self.registered.insert(fd, (token, interest));
        Ok(())
    }

    /// Changes the token or interest of a registered socket.
    pub fn reregister(
        &mut self,
        source: &impl Source,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let fd = source.raw_fd();
        match self.registered.get_mut(&fd) {
            Some(entry) => {
                if *entry != (token, interest) {
                    self.backend.modify(fd, token, interest)?;
                    *entry = (token, interest);
                }
                Ok(())
            }
            None => Err(not_registered()),
        }
    }

    /// Stops watching `source`.
    pub fn deregister(&mut self, source: &impl Source) -> io::Result<()> {
        let fd = source.raw_fd();
        if self.registered.remove(&fd).is_none() {
            return Err(not_registered());
        }
        self.backend.delete(fd)
    }

    /// Number of registered sockets.
    pub fn len(&self) -> usize {
        self.registered.len()
    }

    /// Whether no socket is registered.
    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }

    /// Waits until a registered socket is ready or `timeout` passes (`None`: no limit), and
    /// replaces the contents of `events` with what is ready (one entry per token).
    ///
    /// Waiting with nothing registered and no timeout would never return, so it is refused
    /// (natively, unless the loop handed out a notifier that another thread can end it with).
    pub fn wait(&mut self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        if self.registered.is_empty() && timeout.is_none() && !self.backend.notifiable() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "wait with nothing registered and no timeout would block forever",
            ));
        }
        self.backend.wait(&self.registered, events, timeout)
    }
}

/// Ends the current or the next [`EventLoop::wait`] of one event loop, from any thread.
///
/// Native only: on wasm32-wasip1 there is no other thread to wake the loop from. It is
/// `polling`'s own notification (an eventfd on Linux, a pipe on other Unixes), so it costs
/// no socket and no registration; a notification is reported as an empty wait, not as an
/// [`Event`]. Notifications before a wait coalesce into one.
#[cfg(not(target_os = "wasi"))]
#[derive(Clone)]
pub(crate) struct Notifier(std::sync::Arc<polling::Poller>);

#[cfg(not(target_os = "wasi"))]
impl Notifier {
    /// Wakes the loop; a failure (the notification pipe is full) means a wake is pending.
    pub(crate) fn notify(&self) {
        let _ = self.0.notify();
    }
}

#[cfg(not(target_os = "wasi"))]
impl EventLoop {
    /// A handle that ends this loop's waits from other threads. Once one exists, waiting
    /// with nothing registered and no timeout is allowed: the handle can end that wait.
    pub(crate) fn notifier(&mut self) -> Notifier {
        self.backend.notifiable = true;
        Notifier(self.backend.poller.clone())
    }
}

fn not_registered() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "socket is not registered")
}

#[cfg(not(target_os = "wasi"))]
struct Backend {
    /// Shared with the [`Notifier`]s, which only call `notify` on it.
    poller: std::sync::Arc<polling::Poller>,
    events: polling::Events,
    /// A [`Notifier`] was handed out.
    notifiable: bool,
}

#[cfg(not(target_os = "wasi"))]
impl Backend {
    fn new() -> io::Result<Backend> {
        Ok(Backend {
            poller: std::sync::Arc::new(polling::Poller::new()?),
            events: polling::Events::new(),
            notifiable: false,
        })
    }

    fn notifiable(&self) -> bool {
        self.notifiable
    }

    fn interest(token: Token, interest: Interest) -> polling::Event {
        polling::Event::new(token.0, interest.readable, interest.writable)
    }

    fn add(&mut self, fd: std::os::fd::RawFd, token: Token, interest: Interest) -> io::Result<()> {
        // SAFETY: `EventLoop` documents that a socket is deregistered before it is closed,
        // and our servers and clients do so.
        unsafe {
            self.poller.add_with_mode(
                fd,
                Self::interest(token, interest),
                polling::PollMode::Level,
            )
        }
    }

    fn modify(
        &mut self,
        fd: std::os::fd::RawFd,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        // SAFETY: the fd is registered, hence open (see `add`).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        self.poller.modify_with_mode(
            fd,
            Self::interest(token, interest),
            polling::PollMode::Level,
        )
    }

    fn delete(&mut self, fd: std::os::fd::RawFd) -> io::Result<()> {
        // SAFETY: the fd is registered, hence open (see `add`).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        self.poller.delete(fd)
    }

    fn wait(
        &mut self,
        _registered: &HashMap<std::os::fd::RawFd, (Token, Interest)>,
        events: &mut Vec<Event>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.events.clear();
        match self.poller.wait(&mut self.events, timeout) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }
        for ready in self.events.iter() {
            let failed = ready.is_err().unwrap_or(false);
            events.push(Event {
                token: Token(ready.key),
                readable: ready.readable || failed,
                writable: ready.writable,
            });
        }
        Ok(())
    }
}

/// The wasm backend: `poll_oneoff` is stateless, so every wait passes every registered
/// socket, and the runtime answers with the ready ones in subscription order (WasmEdge
/// 0.17.1's `Poller::wait` fills its events in that order, and so does our engine).
///
/// The order is therefore ours to choose, and it decides who waits: a server answers a
/// wait's events one after another, so with a fixed order the sockets late in it are always
/// served last, and a request that reaches one of them just after the wait began sits out
/// the whole next turn as well (with 10,000 busy keep-alive connections one turn takes over
/// 100 ms). Natively epoll hands out its ready list first come, first served. The nearest
/// thing here is least recently ready first: each wait subscribes the sockets that were not
/// ready last time first, in their old order, then the ones that were, in the order they
/// were reported. Scratch space is kept and reused, so a server's every turn does not
/// allocate it afresh; the cost per wait stays linear in the registered sockets.
#[cfg(target_os = "wasi")]
struct Backend {
    /// Registered descriptors in the order the next wait subscribes them. Deregistered
    /// ones are dropped lazily, by the next wait.
    order: Vec<std::os::fd::RawFd>,
    /// The descriptors in `order`, so that registering one again does not list it twice.
    listed: std::collections::HashSet<std::os::fd::RawFd>,
    /// Scratch for one wait: the subscriptions, each subscription's token (its userdata is
    /// its index + 1), where its event went in the caller's list, the indices of the ready
    /// ones in the order they were reported, and the next `order`.
    subscriptions: Vec<wasmedge_wasi_socket::poll::Subscription>,
    tokens: Vec<Token>,
    event_at: Vec<Option<usize>>,
    reported: Vec<usize>,
    next_order: Vec<std::os::fd::RawFd>,
}

#[cfg(target_os = "wasi")]
impl Backend {
    fn new() -> io::Result<Backend> {
        Ok(Backend {
            order: Vec::new(),
            listed: std::collections::HashSet::new(),
            subscriptions: Vec::new(),
            tokens: Vec::new(),
            event_at: Vec::new(),
            reported: Vec::new(),
            next_order: Vec::new(),
        })
    }

    /// No other thread exists to notify the loop.
    fn notifiable(&self) -> bool {
        false
    }

    fn add(
        &mut self,
        fd: std::os::fd::RawFd,
        _token: Token,
        _interest: Interest,
    ) -> io::Result<()> {
        if self.listed.insert(fd) {
            self.order.push(fd);
        }
        Ok(())
    }

    fn modify(
        &mut self,
        _fd: std::os::fd::RawFd,
        _token: Token,
        _interest: Interest,
    ) -> io::Result<()> {
        Ok(())
    }

    fn delete(&mut self, _fd: std::os::fd::RawFd) -> io::Result<()> {
        Ok(())
    }

    fn wait(
        &mut self,
        registered: &HashMap<std::os::fd::RawFd, (Token, Interest)>,
        events: &mut Vec<Event>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        use wasmedge_wasi_socket::poll;

        // The clock subscription's userdata cannot collide with a socket's: those are
        // subscription indices + 1.
        const TIMER: u64 = 0;
        let Backend {
            order,
            listed,
            subscriptions,
            tokens,
            event_at,
            reported,
            next_order,
        } = self;
        subscriptions.clear();
        tokens.clear();
        // Every `Interest` asks for at least one of the two, so every socket subscribes.
        order.retain(|fd| match registered.get(fd) {
            Some(&(token, interest)) => {
                tokens.push(token);
                subscriptions.push(poll::Subscription::IO {
                    userdata: tokens.len() as u64,
                    fd: *fd,
                    read_event: interest.readable,
                    write_event: interest.writable,
                });
                true
            }
            None => {
                listed.remove(fd);
                false
            }
        });
        if let Some(timeout) = timeout {
            let deadline = std::time::SystemTime::now() + timeout;
            subscriptions.push(poll::Subscription::timeout(TIMER, deadline));
        }
        if subscriptions.is_empty() {
            return Ok(());
        }
        let ready = match poll::poll(subscriptions) {
            Ok(ready) => ready,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        };
        // Read and write readiness of one socket arrive as separate entries; merge them.
        event_at.clear();
        event_at.resize(order.len(), None);
        reported.clear();
        for one in ready {
            let index = match usize::try_from(one.userdata) {
                Ok(userdata) if userdata >= 1 && userdata <= order.len() => userdata - 1,
                _ => continue,
            };
            let (readable, writable) = match one.event_type {
                poll::EventType::Read => (true, false),
                poll::EventType::Write => (false, true),
                // Errors and hang-ups are surfaced as readable: the next read reports them.
                poll::EventType::Error(_) => (true, false),
                poll::EventType::Timeout => continue,
            };
            match event_at[index] {
                Some(at) => {
                    events[at].readable |= readable;
                    events[at].writable |= writable;
                }
                None => {
                    event_at[index] = Some(events.len());
                    reported.push(index);
                    events.push(Event {
                        token: tokens[index],
                        readable,
                        writable,
                    });
                }
            }
        }
        // Least recently ready first: the sockets not ready now keep their places at the
        // front, the ready ones go to the back in the order they were reported (and are
        // about to be served).
        next_order.clear();
        next_order.extend(
            order
                .iter()
                .zip(event_at.iter())
                .filter(|(_, at)| at.is_none())
                .map(|(&fd, _)| fd),
        );
        next_order.extend(reported.iter().map(|&index| order[index]));
        std::mem::swap(order, next_order);
        Ok(())
    }
}
