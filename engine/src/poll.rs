//! `poll_oneoff` over sockets, clocks and preview1's own fds, level-triggered.
//!
//! Sockets are watched through one epoll set per guest ([`PollSet`]), kept in step with the
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
//! Clock subscriptions become the timeout and are reported when they expire. A call with
//! no socket at all is handed whole to wasmtime-wasi's preview1 (so `nsubscriptions == 0`
//! is preview1's `INVAL`). WasmEdge's edge-triggered `epoll_oneoff` is served by the same
//! code (see `host.rs` for why that is sound).
//!
//! A call that mixes sockets with preview1 fds (stdin, files) polls the preview1 side
//! without waiting, through preview1's own `poll_oneoff` on a rewritten subscription
//! list (restored afterwards), and waits on the sockets in slices of at most
//! [`MIXED_POLL_SLICE`], so a ready stdin is noticed within that slice.
//!
//! A read event's `nbytes` is WasmEdge 0.17.1's (see [`read_event_nbytes`]). One
//! difference, on the side of reporting what is true: a socket in error alone (`EPOLLERR`
//! without IN, OUT or HUP, e.g. a connected UDP socket whose datagram drew an ICMP port
//! unreachable) wakes both read and write subscribers, so the guest learns of it from its
//! next call. WasmEdge reports no event for it, and since epoll keeps reporting the error,
//! a call here would otherwise never end.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use wasmtime::Caller;

use super::abi::*;
use super::host::{guest_memory, HostState};
use super::sockets::is_socket_fd;

/// Longest wait on sockets before preview1 fds are looked at again in a mixed call.
pub const MIXED_POLL_SLICE: Duration = Duration::from_millis(10);

const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;

const WANT_READ: u8 = 1;
const WANT_WRITE: u8 = 2;
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
    fn begin(&mut self, count: usize) -> Result<(), Errno> {
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
    fn subscribe(&mut self, fd: RawFd, index: usize, bit: u8) {
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
    fn sync(&mut self) -> Vec<(usize, Errno)> {
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
    fn wait(
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

#[derive(Clone, Copy)]
enum Interest {
    Clock { id: u32, timeout: u64, flags: u16 },
    Read(u32),
    Write(u32),
    BadTag(u8),
}

struct Subscription {
    userdata: u64,
    interest: Interest,
    raw: [u8; SUBSCRIPTION_SIZE as usize],
}

#[derive(Clone, Copy)]
struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn error(sub: &Subscription, kind: u8, error: Errno) -> Self {
        Event {
            userdata: sub.userdata,
            error,
            kind,
            nbytes: 0,
            flags: 0,
        }
    }
}

fn read_subscriptions(
    memory: &GuestMemory,
    in_ptr: u32,
    out_ptr: u32,
    count: u32,
    nevents_ptr: u32,
) -> Result<Vec<Subscription>, Errno> {
    memory.check(
        in_ptr,
        count.checked_mul(SUBSCRIPTION_SIZE).ok_or(ERRNO_FAULT)?,
    )?;
    memory.check(out_ptr, count.checked_mul(EVENT_SIZE).ok_or(ERRNO_FAULT)?)?;
    memory.check(nevents_ptr, 4)?;
    let mut subs = Vec::with_capacity(count as usize);
    for index in 0..count {
        let base = in_ptr + index * SUBSCRIPTION_SIZE;
        let mut raw = [0u8; SUBSCRIPTION_SIZE as usize];
        raw.copy_from_slice(memory.slice(base, SUBSCRIPTION_SIZE)?);
        let userdata = memory.read_u64(base)?;
        let tag = memory.read_u8(base + 8)?;
        let interest = match tag {
            EVENTTYPE_CLOCK => Interest::Clock {
                id: memory.read_u32(base + 16)?,
                timeout: memory.read_u64(base + 24)?,
                flags: memory.read_u16(base + 40)?,
            },
            EVENTTYPE_FD_READ => Interest::Read(memory.read_u32(base + 16)?),
            EVENTTYPE_FD_WRITE => Interest::Write(memory.read_u32(base + 16)?),
            other => Interest::BadTag(other),
        };
        subs.push(Subscription {
            userdata,
            interest,
            raw,
        });
    }
    Ok(subs)
}

fn write_events(
    memory: &mut GuestMemory,
    out_ptr: u32,
    nevents_ptr: u32,
    events: &[Event],
) -> Result<(), Errno> {
    for (index, event) in events.iter().enumerate() {
        let base = out_ptr + index as u32 * EVENT_SIZE;
        memory.write_bytes(base, &[0u8; EVENT_SIZE as usize])?;
        memory.write_u64(base, event.userdata)?;
        memory.write_u16(base + 8, event.error)?;
        memory.write_u8(base + 10, event.kind)?;
        memory.write_u64(base + 16, event.nbytes)?;
        memory.write_u16(base + 24, event.flags)?;
    }
    memory.write_u32(nevents_ptr, events.len() as u32)
}

fn realtime_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
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

/// The host side of `poll_oneoff(in, out, nsubscriptions, nevents)`.
pub fn poll_oneoff(
    caller: &mut Caller<'_, HostState>,
    in_ptr: i32,
    out_ptr: i32,
    count: i32,
    nevents_ptr: i32,
) -> wasmtime::Result<i32> {
    let memory = match guest_memory(caller) {
        Ok(memory) => memory,
        Err(errno) => return Ok(errno as i32),
    };
    let (in_ptr, out_ptr, count_u, nevents_ptr_u) = (
        in_ptr as u32,
        out_ptr as u32,
        count as u32,
        nevents_ptr as u32,
    );
    let subs = match read_subscriptions(
        &GuestMemory::new(memory.data_mut(&mut *caller)),
        in_ptr,
        out_ptr,
        count_u,
        nevents_ptr_u,
    ) {
        Ok(subs) => subs,
        Err(errno) => return Ok(errno as i32),
    };
    let touches_socket = subs.iter().any(
        |sub| matches!(sub.interest, Interest::Read(fd) | Interest::Write(fd) if is_socket_fd(fd)),
    );
    if !touches_socket {
        let preview1 = caller.data().preview1()?;
        return preview1.poll_oneoff.call(
            &mut *caller,
            (in_ptr as i32, out_ptr as i32, count, nevents_ptr),
        );
    }

    // The set is moved out of the host state while this call runs (preview1 needs the
    // caller), and put back on every way out.
    let mut set = std::mem::take(&mut caller.data_mut().sockets.poll_set);
    let result = poll_with_sockets(
        caller,
        &memory,
        &subs,
        &mut set,
        in_ptr,
        out_ptr,
        nevents_ptr_u,
    );
    caller.data_mut().sockets.poll_set = set;
    result
}

/// The body of a `poll_oneoff` call that subscribes at least one socket.
fn poll_with_sockets(
    caller: &mut Caller<'_, HostState>,
    memory: &wasmtime::Memory,
    subs: &[Subscription],
    set: &mut PollSet,
    in_ptr: u32,
    out_ptr: u32,
    nevents_ptr_u: u32,
) -> wasmtime::Result<i32> {
    let count_u = subs.len() as u32;
    let preview1 = caller.data().preview1()?;
    if let Err(errno) = set.begin(subs.len()) {
        return Ok(errno as i32);
    }
    let start = Instant::now();
    let mut events: Vec<Event> = Vec::new();
    let mut clocks: Vec<(usize, Instant)> = Vec::new();
    let mut others: Vec<usize> = Vec::new();
    for (index, sub) in subs.iter().enumerate() {
        match sub.interest {
            Interest::BadTag(tag) => events.push(Event::error(sub, tag, ERRNO_INVAL)),
            Interest::Clock { id, timeout, flags } => {
                if flags & !SUBCLOCKFLAGS_ABSTIME != 0 || id > 3 {
                    events.push(Event::error(sub, EVENTTYPE_CLOCK, ERRNO_INVAL));
                    continue;
                }
                let remaining = if flags & SUBCLOCKFLAGS_ABSTIME == 0 {
                    timeout
                } else if id == CLOCKID_REALTIME {
                    timeout.saturating_sub(realtime_now_ns())
                } else {
                    // The guest's monotonic clock is preview1's; ask it, using the event
                    // array (ours to overwrite) as scratch space.
                    let status = preview1
                        .clock_time_get
                        .call(&mut *caller, (CLOCKID_MONOTONIC as i32, 0, out_ptr as i32))?;
                    let now = GuestMemory::new(memory.data_mut(&mut *caller))
                        .read_u64(out_ptr)
                        .unwrap_or(0);
                    if status != 0 {
                        0
                    } else {
                        timeout.saturating_sub(now)
                    }
                };
                clocks.push((index, start + Duration::from_nanos(remaining)));
            }
            Interest::Read(fd) | Interest::Write(fd) => {
                let (kind, bit) = if matches!(sub.interest, Interest::Read(_)) {
                    (EVENTTYPE_FD_READ, WANT_READ)
                } else {
                    (EVENTTYPE_FD_WRITE, WANT_WRITE)
                };
                if !is_socket_fd(fd) {
                    others.push(index);
                    continue;
                }
                match caller.data().sockets.raw_fd(fd) {
                    Ok(raw_fd) => set.subscribe(raw_fd, index, bit),
                    Err(errno) => events.push(Event::error(sub, kind, errno)),
                }
            }
        }
    }
    for (index, errno) in set.sync() {
        let kind = if matches!(subs[index].interest, Interest::Read(_)) {
            EVENTTYPE_FD_READ
        } else {
            EVENTTYPE_FD_WRITE
        };
        events.push(Event::error(&subs[index], kind, errno));
    }
    let deadline = clocks.iter().map(|&(_, at)| at).min();

    loop {
        let now = Instant::now();
        let mut wait = deadline.map(|at| at.saturating_duration_since(now));
        if !others.is_empty() {
            wait = Some(wait.map_or(MIXED_POLL_SLICE, |w| w.min(MIXED_POLL_SLICE)));
        }
        if !events.is_empty() {
            wait = Some(Duration::ZERO);
        }
        let timeout_ms: libc::c_int = match wait {
            // Round up so a wait never ends just before its deadline and spins.
            Some(w) => w
                .as_nanos()
                .div_ceil(1_000_000)
                .min(libc::c_int::MAX as u128) as libc::c_int,
            None => -1,
        };
        if let Err(errno) = set.wait(subs, timeout_ms, &mut events) {
            return Ok(errno as i32);
        }
        if !others.is_empty() {
            match poll_preview1_now(
                caller,
                memory,
                in_ptr,
                out_ptr,
                nevents_ptr_u,
                subs,
                &others,
            )? {
                Ok(found) => events.extend(found),
                Err(errno) => return Ok(errno as i32),
            }
        }
        let now = Instant::now();
        for &(index, at) in &clocks {
            if at <= now {
                events.push(Event {
                    userdata: subs[index].userdata,
                    error: ERRNO_SUCCESS,
                    kind: EVENTTYPE_CLOCK,
                    nbytes: 0,
                    flags: 0,
                });
            }
        }
        if !events.is_empty() {
            events.truncate(count_u as usize);
            let mut guest = GuestMemory::new(memory.data_mut(&mut *caller));
            return Ok(
                match write_events(&mut guest, out_ptr, nevents_ptr_u, &events) {
                    Ok(()) => 0,
                    Err(errno) => errno as i32,
                },
            );
        }
    }
}

/// Ask preview1, without waiting, which of the non-socket subscriptions are ready.
///
/// The guest's subscription array is borrowed as the argument buffer: the non-socket
/// subscriptions plus one zero-timeout clock are written at its start, preview1 is
/// called, and the original bytes are put back before returning.
fn poll_preview1_now(
    caller: &mut Caller<'_, HostState>,
    memory: &wasmtime::Memory,
    in_ptr: u32,
    out_ptr: u32,
    nevents_ptr: u32,
    subs: &[Subscription],
    others: &[usize],
) -> wasmtime::Result<Result<Vec<Event>, Errno>> {
    let count = others.len() as u32 + 1;
    let saved = {
        let mut guest = GuestMemory::new(memory.data_mut(&mut *caller));
        let saved = match guest.slice(in_ptr, count * SUBSCRIPTION_SIZE) {
            Ok(bytes) => bytes.to_vec(),
            Err(errno) => return Ok(Err(errno)),
        };
        for (slot, &index) in others.iter().enumerate() {
            if let Err(errno) =
                guest.write_bytes(in_ptr + slot as u32 * SUBSCRIPTION_SIZE, &subs[index].raw)
            {
                return Ok(Err(errno));
            }
        }
        let mut clock = [0u8; SUBSCRIPTION_SIZE as usize];
        clock[8] = EVENTTYPE_CLOCK;
        clock[16..20].copy_from_slice(&CLOCKID_MONOTONIC.to_le_bytes());
        if let Err(errno) =
            guest.write_bytes(in_ptr + others.len() as u32 * SUBSCRIPTION_SIZE, &clock)
        {
            return Ok(Err(errno));
        }
        saved
    };
    let preview1 = caller.data().preview1()?;
    let status = preview1.poll_oneoff.call(
        &mut *caller,
        (
            in_ptr as i32,
            out_ptr as i32,
            count as i32,
            nevents_ptr as i32,
        ),
    );
    let mut guest = GuestMemory::new(memory.data_mut(&mut *caller));
    if let Err(errno) = guest.write_bytes(in_ptr, &saved) {
        return Ok(Err(errno));
    }
    let status = status?;
    if status != 0 {
        return Ok(Err(status as Errno));
    }
    let reported = match guest.read_u32(nevents_ptr) {
        Ok(n) => n.min(count),
        Err(errno) => return Ok(Err(errno)),
    };
    let mut found = Vec::new();
    for index in 0..reported {
        let base = out_ptr + index * EVENT_SIZE;
        let read = || -> Result<Event, Errno> {
            Ok(Event {
                userdata: guest.read_u64(base)?,
                error: guest.read_u16(base + 8)?,
                kind: guest.read_u8(base + 10)?,
                nbytes: guest.read_u64(base + 16)?,
                flags: guest.read_u16(base + 24)?,
            })
        };
        match read() {
            // The only clock in that call is our own zero timeout.
            Ok(event) if event.kind == EVENTTYPE_CLOCK => {}
            Ok(event) => found.push(event),
            Err(errno) => return Ok(Err(errno)),
        }
    }
    Ok(Ok(found))
}
