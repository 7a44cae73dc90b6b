//! `poll_oneoff` over sockets, clocks and preview1's own fds, level-triggered.
//!
//! Sockets are watched through the guest's epoll set ([`PollSet`], in `poll_set.rs`, which
//! says how it is kept in step with the subscriptions and what its events report); this
//! module reads a call's subscriptions from guest memory, runs the call through the set,
//! preview1 and the clocks, and writes the events back.
//!
//! Clock subscriptions become the timeout and are reported when they expire. A call with
//! no socket at all is handed whole to wasmtime-wasi's preview1 (so `nsubscriptions == 0`
//! is preview1's `INVAL`). WasmEdge's edge-triggered `epoll_oneoff` is served by the same
//! code (see `host.rs` for why that is sound).
//!
//! A call that mixes sockets with preview1 fds (stdin, files) polls the preview1 side
//! without waiting, through preview1's own `poll_oneoff` on a rewritten subscription
//! list (restored afterwards), and waits on the sockets in slices of at most
//! [`MIXED_POLL_SLICE`], so a ready stdin is noticed within that slice. preview1's events
//! and count are read before the subscriptions are put back, since the guest may have
//! placed either over them (`out == in`, or `nevents` inside `in`).
//!
//! One call's host memory is bounded (`check_host_memory`): a call whose subscriptions
//! would take more than the guest's memory limit, or [`POLL_HOST_BYTES_CAP`] without one,
//! fails with `NOMEM` before anything is read (as Linux's `poll` fails with `ENOMEM` when
//! it cannot allocate for its fds).
//!
//! A subscription with an unknown tag fails the call with `INVAL`, as preview1 answers it
//! (WasmEdge 0.17.1 reports the tag as the event's type, and with no clock beside it never
//! returns).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::Caller;

use super::abi::*;
use super::poll_set::{
    Event, Interest, PollSet, Subscription, SUBSCRIPTION_SIZE, WANT_READ, WANT_WRITE,
};
use super::state::{guest_memory, is_socket_fd, HostState};

/// Longest wait on sockets before preview1 fds are looked at again in a mixed call.
pub const MIXED_POLL_SLICE: Duration = Duration::from_millis(10);

const EVENT_SIZE: u32 = 32;

/// The most host memory one `poll_oneoff` call may take for its subscriptions when the
/// guest has no memory limit: 64 MiB, about 450,000 subscriptions, far beyond what any
/// server polls at once (10,000 connections take 2 MiB). With a memory limit, the limit is
/// the bound. Before this bound, one call over a 4 GiB guest's whole memory (a socket,
/// then millions of zero-timeout clocks) made the host hold 13.6 GB while it ran.
pub const POLL_HOST_BYTES_CAP: u64 = 64 << 20;

/// What the host holds per subscription during a call: the subscription read whole, its
/// event, its place in the clock or preview1 lists, and the poll set's link.
const HOST_BYTES_PER_SUBSCRIPTION: u64 = (std::mem::size_of::<Subscription>()
    + std::mem::size_of::<Event>()
    + std::mem::size_of::<(usize, Instant)>()
    + 2 * std::mem::size_of::<usize>()) as u64;

/// `NOMEM` when `count` subscriptions would take more host memory than `limit` bytes
/// (the guest's memory limit, else [`POLL_HOST_BYTES_CAP`]): checked before anything is
/// read, so the guest learns of it without the host having allocated.
fn check_host_memory(count: u32, limit: Option<u64>) -> Result<(), Errno> {
    let bound = limit.unwrap_or(POLL_HOST_BYTES_CAP);
    if u64::from(count) * HOST_BYTES_PER_SUBSCRIPTION > bound {
        return Err(ERRNO_NOMEM);
    }
    Ok(())
}

/// The call's subscriptions, each checked and read whole before anything is written (the
/// guest may place its events or their count over them). A tag that is none of clock,
/// read, write fails the whole call with `INVAL`, as preview1 answers it: an event would
/// have no type to report. (WasmEdge 0.17.1 reports the tag itself as the event's type,
/// and with no clock beside it never returns.)
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
            _ => return Err(ERRNO_INVAL),
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

/// The host side of `poll_oneoff(in, out, nsubscriptions, nevents)`.
pub fn poll_oneoff(
    caller: &mut Caller<'_, HostState>,
    in_ptr: i32,
    out_ptr: i32,
    count: i32,
    nevents_ptr: i32,
) -> wasmtime::Result<i32> {
    let alignment = aligned(in_ptr as u32, 8)
        .and_then(|()| aligned(out_ptr as u32, 8))
        .and_then(|()| aligned(nevents_ptr as u32, 4));
    if let Err(errno) = alignment {
        return Ok(errno as i32);
    }
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
    if let Err(errno) = check_host_memory(count_u, caller.data().limiter.limit) {
        return Ok(errno as i32);
    }
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
                    // The guest's monotonic clock is preview1's; ask it, borrowing the
                    // event array's first 8 bytes (which may lie over the subscriptions)
                    // and putting them back.
                    let scratch = GuestMemory::new(memory.data_mut(&mut *caller))
                        .read_u64(out_ptr)
                        .unwrap_or(0);
                    let status = preview1
                        .clock_time_get
                        .call(&mut *caller, (CLOCKID_MONOTONIC as i32, 0, out_ptr as i32))?;
                    let mut guest = GuestMemory::new(memory.data_mut(&mut *caller));
                    let now = guest.read_u64(out_ptr).unwrap_or(0);
                    // Read a moment ago, so in bounds.
                    let _ = guest.write_u64(out_ptr, scratch);
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
/// called, its events and their count are read, and only then are the original bytes put
/// back (the guest may have placed its events, or their count, over its subscriptions).
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
    let found = match status {
        Ok(0) => preview1_events(&guest, out_ptr, nevents_ptr, count),
        Ok(errno) => Err(errno as Errno),
        Err(_) => Ok(Vec::new()),
    };
    if let Err(errno) = guest.write_bytes(in_ptr, &saved) {
        return Ok(Err(errno));
    }
    status?;
    Ok(found)
}

/// The events preview1 reported to [`poll_preview1_now`], but its own zero timeout.
fn preview1_events(
    guest: &GuestMemory,
    out_ptr: u32,
    nevents_ptr: u32,
    count: u32,
) -> Result<Vec<Event>, Errno> {
    let reported = guest.read_u32(nevents_ptr)?.min(count);
    let mut found = Vec::new();
    for index in 0..reported {
        let base = out_ptr + index * EVENT_SIZE;
        let event = Event {
            userdata: guest.read_u64(base)?,
            error: guest.read_u16(base + 8)?,
            kind: guest.read_u8(base + 10)?,
            nbytes: guest.read_u64(base + 16)?,
            flags: guest.read_u16(base + 24)?,
        };
        // The only clock in that call is our own zero timeout.
        if event.kind != EVENTTYPE_CLOCK {
            found.push(event);
        }
    }
    Ok(found)
}
