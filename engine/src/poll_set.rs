//! The epoll set behind `poll_oneoff` ([`PollSet`]): one per guest, kept in its
//! `SocketTable`, and the records a call's subscriptions and events are read into.
//!
//! Sockets are watched through one epoll set per guest, kept in step with the
//! guest's subscriptions: each call compares what it subscribes (read, write or both, per
//! socket) with what the set holds and makes only the differences with `epoll_ctl`, so a
//! server that watches the same 10,000 connections call after call costs one `epoll_wait`
//! that looks at the ready sockets only, where `poll(2)` would look at all of them. The set
//! is level-triggered (no `EPOLLET`), so a socket with unread data is reported readable on
//! every call until it is drained, as in WasmEdge 0.17.1's level-triggered `poll_oneoff`;
//! readiness itself is never remembered, only the registrations.
//!
//! Invariants of the set: a socket the current call subscribes is registered with exactly
//! this call's interests; a socket registered by an earlier call but not subscribed now
//! stays registered until it turns ready, and is then removed instead of being reported; a
//! socket is removed before its fd is closed (`SocketTable::close`), so a new socket that
//! is given the same number starts unregistered.
//!
//! A read event's `nbytes` is WasmEdge 0.17.1's (see [`read_event_nbytes`]). One
//! difference, on the side of reporting what is true: a socket in error alone (`EPOLLERR`
//! without IN, OUT or HUP, e.g. a connected UDP socket whose datagram drew an ICMP port
//! unreachable) wakes both read and write subscribers, so the guest learns of it from its
//! next call. WasmEdge reports no event for it, and since epoll keeps reporting the error,
//! a call here would otherwise never end.
//!
//! This module knows nothing of the store or of guest memory: `state.rs` holds the set
//! (in `SocketTable`), `sockets.rs` tells it of listens and closes, and `poll.rs` runs a
//! call through it.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::buffer::spare_capacity;
use rustix::event::epoll;

use super::abi::*;

/// The size of one preview1 `subscription` in guest memory.
pub const SUBSCRIPTION_SIZE: u32 = 48;

pub const WANT_READ: u8 = 1;
pub const WANT_WRITE: u8 = 2;
/// End of a list of subscriptions on one fd.
const NO_SUB: u32 = u32::MAX;

/// The epoll set behind `poll_oneoff` and what each socket in it is registered for.
/// One per guest, in its `SocketTable`; the epoll fd is made on the first call that
/// subscribes a socket.
#[derive(Default)]
pub struct PollSet {
    epoll: Option<OwnedFd>,
    /// By host fd.
    fds: Vec<FdState>,
    /// The number of the current call; marks the `FdState`s it subscribes.
    call: u64,
    /// Host fds the current call subscribes, each once.
    touched: Vec<RawFd>,
    /// By subscription index: the next subscription of the current call on the same fd.
    next_sub: Vec<u32>,
    /// `epoll_wait`'s output buffer, kept for its capacity.
    ready: ReadyBuffer,
    /// A call's ready events with their subscription index, sorted before they are
    /// reported; kept for its capacity.
    found: Vec<(u32, Event)>,
}

/// `epoll_wait`'s output buffer. rustix's `Event` may carry a pointer and so is not `Send`;
/// ours only ever carry a host fd number as `u64` data, so moving them between threads (the
/// host state must be `Send`) is sound.
#[derive(Default)]
struct ReadyBuffer(Vec<epoll::Event>);

// SAFETY: see the type's documentation: no event holds a pointer.
unsafe impl Send for ReadyBuffer {}

#[derive(Clone, Copy)]
struct FdState {
    /// `WANT_*` bits the fd is registered with; 0 when it is not in the set.
    registered: u8,
    /// `WANT_*` bits the current call subscribes; valid when `call` is the current call.
    wanted: u8,
    call: u64,
    /// The current call's first subscription on this fd (then `next_sub`).
    first_sub: u32,
    /// In the listening state (see [`PollSet::set_listening`]).
    listening: bool,
}

impl Default for FdState {
    fn default() -> Self {
        FdState {
            registered: 0,
            wanted: 0,
            call: 0,
            first_sub: NO_SUB,
            listening: false,
        }
    }
}

fn epoll_flags(wanted: u8) -> epoll::EventFlags {
    let mut flags = epoll::EventFlags::empty();
    if wanted & WANT_READ != 0 {
        flags |= epoll::EventFlags::IN;
    }
    if wanted & WANT_WRITE != 0 {
        flags |= epoll::EventFlags::OUT;
    }
    flags
}

fn errno_from_rustix(err: rustix::io::Errno) -> Errno {
    errno_from_raw(err.raw_os_error())
}

impl PollSet {
    /// Take `fd` out of the set; called before its socket is closed, so that a socket
    /// given the same number later starts unregistered (the kernel drops a closed fd from
    /// the set by itself, but our record of it would stay).
    pub fn forget(&mut self, fd: BorrowedFd<'_>) {
        let Some(state) = self.fds.get_mut(fd.as_raw_fd() as usize) else {
            return;
        };
        state.listening = false;
        if state.registered != 0 {
            if let Some(set) = &self.epoll {
                let _ = epoll::delete(set, fd);
            }
            state.registered = 0;
        }
    }

    /// Record whether host fd `fd` is in the listening state: set by the guest's successful
    /// `sock_listen`, cleared when it shuts down reading (which closes a listener) and by
    /// [`PollSet::forget`]. A read event on a listening socket reports `nbytes` 0 (see
    /// [`read_event_nbytes`]).
    pub fn set_listening(&mut self, fd: RawFd, listening: bool) {
        let slot = fd as usize;
        if slot >= self.fds.len() {
            if !listening {
                return;
            }
            self.fds.resize(slot + 1, FdState::default());
        }
        self.fds[slot].listening = listening;
    }

    /// Start a call with `count` subscriptions.
    pub fn begin(&mut self, count: usize) -> Result<(), Errno> {
        if self.epoll.is_none() {
            self.epoll =
                Some(epoll::create(epoll::CreateFlags::CLOEXEC).map_err(errno_from_rustix)?);
        }
        self.call += 1;
        self.touched.clear();
        self.next_sub.clear();
        self.next_sub.resize(count, NO_SUB);
        Ok(())
    }

    /// Subscription `index` of the current call wants `bit` on host fd `fd`.
    pub fn subscribe(&mut self, fd: RawFd, index: usize, bit: u8) {
        let slot = fd as usize;
        if slot >= self.fds.len() {
            self.fds.resize(slot + 1, FdState::default());
        }
        let state = &mut self.fds[slot];
        if state.call != self.call {
            state.call = self.call;
            state.wanted = 0;
            state.first_sub = NO_SUB;
            self.touched.push(fd);
        }
        state.wanted |= bit;
        self.next_sub[index] = state.first_sub;
        state.first_sub = index as u32;
    }

    /// Register each fd of the current call for exactly what it wants. An fd that cannot
    /// be registered loses its subscriptions, which are returned as `(index, errno)`.
    pub fn sync(&mut self) -> Vec<(usize, Errno)> {
        let mut failed = Vec::new();
        let Some(set) = &self.epoll else {
            return failed;
        };
        for &fd in &self.touched {
            let state = &mut self.fds[fd as usize];
            if state.registered == state.wanted {
                continue;
            }
            // SAFETY: `fd` belongs to a socket in the guest's table, open for this call.
            let source = unsafe { BorrowedFd::borrow_raw(fd) };
            let data = epoll::EventData::new_u64(fd as u64);
            let flags = epoll_flags(state.wanted);
            let result = if state.registered == 0 {
                epoll::add(set, source, data, flags)
            } else {
                epoll::modify(set, source, data, flags)
            };
            match result {
                Ok(()) => state.registered = state.wanted,
                Err(err) => {
                    state.registered = 0;
                    let mut index = state.first_sub;
                    while index != NO_SUB {
                        failed.push((index as usize, errno_from_rustix(err)));
                        index = self.next_sub[index as usize];
                    }
                    state.first_sub = NO_SUB;
                    state.wanted = 0;
                }
            }
        }
        failed
    }

    /// Wait up to `timeout_ms` (-1: no limit) and turn what is ready into events of the
    /// current call's subscriptions, in subscription order.
    pub fn wait(
        &mut self,
        subs: &[Subscription],
        timeout_ms: libc::c_int,
        events: &mut Vec<Event>,
    ) -> Result<(), Errno> {
        let Some(set) = &self.epoll else {
            return Ok(());
        };
        let timeout = (timeout_ms >= 0).then(|| rustix::event::Timespec {
            tv_sec: i64::from(timeout_ms / 1000),
            tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
        });
        let ready = &mut self.ready.0;
        ready.clear();
        ready.reserve(self.touched.len().max(16));
        match epoll::wait(set, spare_capacity(ready), timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(err) => return Err(errno_from_rustix(err)),
        }
        let found = &mut self.found;
        found.clear();
        for ready in &self.ready.0 {
            let data = ready.data;
            let fd = data.u64() as RawFd;
            let flags = ready.flags;
            let Some(state) = self.fds.get_mut(fd as usize) else {
                continue;
            };
            if state.call != self.call || state.wanted == 0 {
                // Registered by an earlier call, not subscribed now: out of the set,
                // so it does not wake this call again.
                // SAFETY: a registered fd is an open socket of the guest (closing one
                // removes it first).
                let _ = epoll::delete(set, unsafe { BorrowedFd::borrow_raw(fd) });
                state.registered = 0;
                continue;
            }
            // Which subscriptions an epoll event answers, as WasmEdge 0.17.1 decides it
            // (`Poller::wait`): IN a read, OUT a write, and a hang-up with neither both;
            // and, unlike WasmEdge, an error with neither both too (see the module's doc).
            let hangup = flags.contains(epoll::EventFlags::HUP);
            let neither = !flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::OUT);
            let hung_up_or_failed =
                neither && flags.intersects(epoll::EventFlags::HUP | epoll::EventFlags::ERR);
            let mut index = state.first_sub;
            while index != NO_SUB {
                let sub = &subs[index as usize];
                let reading = matches!(sub.interest, Interest::Read(_));
                let ready = if reading {
                    flags.contains(epoll::EventFlags::IN)
                } else {
                    flags.contains(epoll::EventFlags::OUT)
                };
                if ready || hung_up_or_failed {
                    found.push((
                        index,
                        Event {
                            userdata: sub.userdata,
                            error: ERRNO_SUCCESS,
                            kind: if reading {
                                EVENTTYPE_FD_READ
                            } else {
                                EVENTTYPE_FD_WRITE
                            },
                            nbytes: if reading {
                                read_event_nbytes(state.listening)
                            } else {
                                writable_bytes(fd)
                            },
                            flags: if hangup { EVENTRWFLAGS_HANGUP } else { 0 },
                        },
                    ));
                }
                index = self.next_sub[index as usize];
            }
        }
        found.sort_unstable_by_key(|&(index, _)| index);
        events.extend(found.drain(..).map(|(_, event)| event));
        Ok(())
    }
}

/// What one subscription asks for, as read from guest memory.
#[derive(Clone, Copy)]
pub enum Interest {
    Clock { id: u32, timeout: u64, flags: u16 },
    Read(u32),
    Write(u32),
}

/// One subscription of a `poll_oneoff` call.
pub struct Subscription {
    pub userdata: u64,
    pub interest: Interest,
    /// The subscription's bytes as the guest wrote them.
    pub raw: [u8; SUBSCRIPTION_SIZE as usize],
}

/// One event of a `poll_oneoff` call, before it is written to guest memory.
#[derive(Clone, Copy)]
pub struct Event {
    pub userdata: u64,
    pub error: Errno,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

impl Event {
    pub fn error(sub: &Subscription, kind: u8, error: Errno) -> Self {
        Event {
            userdata: sub.userdata,
            error,
            kind,
            nbytes: 0,
            flags: 0,
        }
    }
}

/// A read event's `nbytes` as WasmEdge 0.17.1 reports it (lib/host/wasi/inode-linux.cpp,
/// `Poller::wait`): 1 when `FIONREAD` on the socket succeeds, whatever the count, and 0 when
/// it fails. Not the byte count: guests written for WasmEdge see these values. `FIONREAD`
/// fails on a socket only in the listening state (Linux `tcp_ioctl`: EINVAL in
/// `TCP_LISTEN`; UDP always answers), and only the guest's `sock_listen` puts one there, so
/// the state the engine records gives WasmEdge's answer without a system call per event.
fn read_event_nbytes(listening: bool) -> u64 {
    if listening {
        0
    } else {
        1
    }
}

/// A write event's `nbytes` as WasmEdge 0.17.1 reports it: `SO_SNDBUF` minus `TIOCOUTQ`
/// (free space in the send buffer, widened from a C int as C++ does, so a negative
/// difference wraps), or 1 when either call fails.
fn writable_bytes(fd: i32) -> u64 {
    let mut size: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let mut queued: libc::c_int = 0;
    // SAFETY: both calls write one int each.
    let ok = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&mut size as *mut libc::c_int).cast(),
            &mut len,
        ) == 0
            && libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) == 0
    };
    if ok {
        i64::from(size.wrapping_sub(queued)) as u64
    } else {
        1
    }
}
