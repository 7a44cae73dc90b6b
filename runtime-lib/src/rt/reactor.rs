//! The reactor: turns the event loop's readiness into task wakeups.
//!
//! A socket gets a slot (its token) the first time a task waits on it. A task that got
//! `WouldBlock` leaves its waker for that direction; the direction is then watched. The
//! loop is level-triggered, so an event for a direction nobody waits on (the task read
//! only part of the data and went on with other work) drops that direction's interest;
//! the next `WouldBlock` asks for it again. Interest changes are applied just before the
//! wait, so a socket read to exhaustion in one turn costs no `epoll_ctl` at all.

use std::io;
use std::os::fd::RawFd;
use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use crate::event::{Event, EventLoop, Interest, Token};
use crate::net::RawSource;

/// Which readiness a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

struct Source {
    fd: RawFd,
    registered: Option<Interest>,
    readers: Vec<Waker>,
    writers: Vec<Waker>,
    /// An event came for this direction and nobody waited: stop watching it.
    drop_read: bool,
    drop_write: bool,
    /// Queued in `Reactor::dirty`.
    dirty: bool,
    /// Watching failed; reported to the next waiter.
    error: Option<io::Error>,
}

pub(crate) struct Reactor {
    events: EventLoop,
    sources: Slab<Source>,
    dirty: Vec<usize>,
    ready: Vec<Event>,
}

impl Reactor {
    /// The reactor, and the handle wakers use to interrupt its wait from other threads.
    pub(crate) fn new() -> io::Result<(Reactor, RemoteWake)> {
        #[cfg_attr(target_os = "wasi", allow(unused_mut))]
        let mut events = EventLoop::new()?;
        // Natively a waker may be woken on another thread (a channel fed by a std thread,
        // say): the event loop's notifier ends the wait. wasm32-wasip1 has no threads.
        let remote = RemoteWake {
            #[cfg(not(target_os = "wasi"))]
            owner: std::thread::current().id(),
            #[cfg(not(target_os = "wasi"))]
            notifier: events.notifier(),
        };
        let reactor = Reactor {
            events,
            sources: Slab::new(),
            dirty: Vec::new(),
            ready: Vec::new(),
        };
        Ok((reactor, remote))
    }

    /// Gives `fd` a slot; nothing is watched until a task waits on it.
    pub(crate) fn insert(&mut self, fd: RawFd) -> usize {
        self.sources.insert(Source {
            fd,
            registered: None,
            readers: Vec::new(),
            writers: Vec::new(),
            drop_read: false,
            drop_write: false,
            dirty: false,
            error: None,
        })
    }

    /// Forgets the slot and stops watching its descriptor; call before closing it. Returns
    /// the wakers it held, to be dropped once the reactor is no longer borrowed.
    pub(crate) fn remove(&mut self, key: usize) -> Vec<Waker> {
        let Some(source) = self.sources.try_remove(key) else {
            return Vec::new();
        };
        if source.registered.is_some() {
            let _ = self.events.deregister(&RawSource(source.fd));
        }
        let mut wakers = source.readers;
        wakers.extend(source.writers);
        wakers
    }

    /// Whether `key` is the slot of `fd` (a socket checks its slot is still its own).
    pub(crate) fn owns(&self, key: usize, fd: RawFd) -> bool {
        self.sources.get(key).is_some_and(|source| source.fd == fd)
    }

    /// Leaves `waker` to be woken when the slot is ready for `direction`.
    pub(crate) fn add_waker(
        &mut self,
        key: usize,
        direction: Direction,
        waker: &Waker,
    ) -> io::Result<()> {
        let Some(source) = self.sources.get_mut(key) else {
            return Err(io::Error::other(
                "socket is not registered with the reactor",
            ));
        };
        if let Some(error) = source.error.take() {
            return Err(error);
        }
        let (waiters, watched, dropping) = match direction {
            Direction::Read => (
                &mut source.readers,
                source.registered.is_some_and(Interest::is_readable),
                &mut source.drop_read,
            ),
            Direction::Write => (
                &mut source.writers,
                source.registered.is_some_and(Interest::is_writable),
                &mut source.drop_write,
            ),
        };
        if !waiters.iter().any(|known| known.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        *dropping = false;
        if !watched && !source.dirty {
            source.dirty = true;
            self.dirty.push(key);
        }
        Ok(())
    }

    /// Applies interest changes, waits up to `timeout` (`None`: until something is ready)
    /// and appends the wakers of what is ready to `woken`.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        woken: &mut Vec<Waker>,
    ) -> io::Result<()> {
        self.apply_interest();
        // Natively another thread may still wake a task (the notifier ends the wait).
        #[cfg(target_os = "wasi")]
        if timeout.is_none() && self.events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "every task waits, yet no socket is watched and no timer is set: nothing could \
                 ever wake them (a deadlock); help: make sure each awaited future is driven by \
                 a socket, a timer or another task",
            ));
        }
        self.events.wait(&mut self.ready, timeout)?;
        for event in &self.ready {
            let key = event.token.0;
            let Some(source) = self.sources.get_mut(key) else {
                continue;
            };
            let asked = source.registered;
            // Readiness nobody asked for is an error or hang-up (WasmEdge reports those as
            // readable only): every waiter must look, a connecting writer included.
            let unasked = asked.is_some_and(|interest| {
                (event.readable && !interest.is_readable())
                    || (event.writable && !interest.is_writable())
            });
            let mut changed = false;
            if event.readable || unasked {
                if source.readers.is_empty() {
                    changed |= asked.is_some_and(Interest::is_readable);
                    source.drop_read = true;
                } else {
                    woken.append(&mut source.readers);
                }
            }
            if event.writable || unasked {
                if source.writers.is_empty() {
                    changed |= asked.is_some_and(Interest::is_writable);
                    source.drop_write = true;
                } else {
                    woken.append(&mut source.writers);
                }
            }
            if changed && !source.dirty {
                source.dirty = true;
                self.dirty.push(key);
            }
        }
        Ok(())
    }

    fn apply_interest(&mut self) {
        for key in std::mem::take(&mut self.dirty) {
            let Some(source) = self.sources.get_mut(key) else {
                continue;
            };
            source.dirty = false;
            let old = source.registered;
            let read = (old.is_some_and(Interest::is_readable) && !source.drop_read)
                || !source.readers.is_empty();
            let write = (old.is_some_and(Interest::is_writable) && !source.drop_write)
                || !source.writers.is_empty();
            source.drop_read = false;
            source.drop_write = false;
            let new = match (read, write) {
                (true, true) => Some(Interest::BOTH),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
            if new == old {
                continue;
            }
            let fd = RawSource(source.fd);
            let result = match (old, new) {
                (None, Some(interest)) => self.events.register(&fd, Token(key), interest),
                (Some(_), Some(interest)) => self.events.reregister(&fd, Token(key), interest),
                (Some(_), None) => self.events.deregister(&fd),
                (None, None) => Ok(()),
            };
            match result {
                Ok(()) => source.registered = new,
                Err(error) => {
                    // The waiters look again and learn of it from `add_waker`.
                    source.error = Some(error);
                    source.readers.clear();
                    source.writers.clear();
                }
            }
        }
    }
}

/// Interrupts the reactor's wait when a waker is woken on another thread than the runtime's.
#[derive(Clone)]
pub(crate) struct RemoteWake {
    #[cfg(not(target_os = "wasi"))]
    owner: std::thread::ThreadId,
    #[cfg(not(target_os = "wasi"))]
    notifier: crate::event::Notifier,
}

impl RemoteWake {
    pub(crate) fn wake_if_remote(&self) {
        // On the runtime's own thread the executor looks at its queue before it waits.
        #[cfg(not(target_os = "wasi"))]
        if std::thread::current().id() != self.owner {
            self.notifier.notify();
        }
    }
}
