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

/// The wasm backend keeps nothing between waits but its scratch space, reused so that a
/// server's every turn does not allocate it afresh.
#[cfg(target_os = "wasi")]
struct Backend {
    subscriptions: Vec<wasmedge_wasi_socket::poll::Subscription>,
    index_of: HashMap<Token, usize>,
}

#[cfg(target_os = "wasi")]
impl Backend {
    fn new() -> io::Result<Backend> {
        Ok(Backend {
            subscriptions: Vec::new(),
            index_of: HashMap::new(),
        })
    }

    /// No other thread exists to notify the loop.
    fn notifiable(&self) -> bool {
        false
    }

    fn add(
        &mut self,
        _fd: std::os::fd::RawFd,
        _token: Token,
        _interest: Interest,
    ) -> io::Result<()> {
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

        // The clock subscription's userdata cannot collide with a socket's: tokens are
        // stored as `token + 1`.
        const TIMER: u64 = 0;
        let subscriptions = &mut self.subscriptions;
        subscriptions.clear();
        // Every `Interest` asks for at least one of the two, so every socket subscribes.
        for (&fd, &(token, interest)) in registered {
            subscriptions.push(poll::Subscription::IO {
                userdata: token.0 as u64 + 1,
                fd,
                read_event: interest.readable,
                write_event: interest.writable,
            });
        }
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
        let index_of = &mut self.index_of;
        index_of.clear();
        for one in ready {
            if one.userdata == TIMER {
                continue;
            }
            let token = Token((one.userdata - 1) as usize);
            let (readable, writable) = match one.event_type {
                poll::EventType::Read => (true, false),
                poll::EventType::Write => (false, true),
                // Errors and hang-ups are surfaced as readable: the next read reports them.
                poll::EventType::Error(_) => (true, false),
                poll::EventType::Timeout => continue,
            };
            match index_of.get(&token) {
                Some(&index) => {
                    events[index].readable |= readable;
                    events[index].writable |= writable;
                }
                None => {
                    index_of.insert(token, events.len());
                    events.push(Event {
                        token,
                        readable,
                        writable,
                    });
                }
            }
        }
        Ok(())
    }
}
