//! The state a guest's store holds, shared by the linker (`host.rs`), the socket calls
//! (`sockets.rs`) and `poll_oneoff` (`poll.rs`): [`HostState`] with preview1's context, the
//! guest's memory and preview1's trampolines, and the guest's [`SocketTable`] with the
//! epoll set `poll_oneoff` watches its sockets through ([`PollSet`], `poll_set.rs`).
//!
//! It sits below those three so that none of them needs another for its types: `host.rs`
//! wires the functions of the other two into the linker, and they depend only on this
//! module, `poll_set.rs` and `abi.rs`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;

use socket2::Socket;
use wasmtime::{Caller, Extern, Memory, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::abi::*;
use super::policy::{Guard, MemoryLimiter, SocketBudget};
use super::poll_set::PollSet;

/// preview1's implementations of the functions we shadow.
#[derive(Clone)]
pub struct Preview1 {
    pub fd_close: TypedFunc<i32, i32>,
    pub fd_fdstat_get: TypedFunc<(i32, i32), i32>,
    pub fd_fdstat_set_flags: TypedFunc<(i32, i32), i32>,
    pub fd_read: TypedFunc<(i32, i32, i32, i32), i32>,
    pub fd_write: TypedFunc<(i32, i32, i32, i32), i32>,
    pub poll_oneoff: TypedFunc<(i32, i32, i32, i32), i32>,
    pub clock_time_get: TypedFunc<(i32, i64, i32), i32>,
}

/// Told the bound address of each socket the guest puts into the listening state.
pub type ListenObserver = Box<dyn FnMut(SocketAddr) + Send>;

pub struct HostState {
    pub wasi: WasiP1Ctx,
    pub sockets: SocketTable,
    pub memory: Option<Memory>,
    preview1: Option<Preview1>,
    pub listen_observer: Option<ListenObserver>,
    /// The addresses already reported to the listen observer: each once, at most
    /// [`MAX_LISTEN_REPORTS`], so a guest calling `sock_listen` in a loop cannot make the
    /// embedder queue a report per call.
    listens_reported: HashSet<SocketAddr>,
    /// The store's resource limiter: the guest's memory limit.
    pub limiter: MemoryLimiter,
}

/// Distinct listening addresses reported per guest; a guest that listens on more (it
/// would need as many sockets) has the rest go unreported.
pub const MAX_LISTEN_REPORTS: usize = 1024;

impl HostState {
    pub fn new(wasi: WasiP1Ctx) -> Self {
        HostState {
            wasi,
            sockets: SocketTable::default(),
            memory: None,
            preview1: None,
            listen_observer: None,
            listens_reported: HashSet::new(),
            limiter: MemoryLimiter::new(None, Default::default()),
        }
    }

    /// After a successful `sock_listen` on `fd`: tell the observer where it listens (the
    /// address the OS reports, so a port 0 bind shows the port it was given), once per
    /// address: a repeated `sock_listen` on one socket is reported the first time only.
    pub fn observe_listen(&mut self, fd: u32) {
        let Some(observer) = self.listen_observer.as_mut() else {
            return;
        };
        let address = self
            .sockets
            .get(fd)
            .ok()
            .and_then(|socket| socket.local_addr().ok());
        let Some(address) = address.and_then(|address| address.as_socket()) else {
            return;
        };
        if self.listens_reported.len() < MAX_LISTEN_REPORTS && self.listens_reported.insert(address)
        {
            observer(address);
        }
    }

    /// Once the guest is instantiated: the trampolines into preview1 (`host::attach_preview1`).
    pub fn set_preview1(&mut self, preview1: Preview1) {
        self.preview1 = Some(preview1);
    }

    pub fn preview1(&self) -> wasmtime::Result<Preview1> {
        self.preview1.clone().ok_or_else(|| {
            wasmtime::format_err!(
                "preview1 is not reachable: the guest exports no memory or is still starting"
            )
        })
    }
}

/// The guest's exported memory, or `FAULT` when it has none.
pub fn guest_memory(caller: &mut Caller<'_, HostState>) -> Result<Memory, Errno> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    let memory = caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or(ERRNO_FAULT)?;
    caller.data_mut().memory = Some(memory);
    Ok(memory)
}

/// The first guest fd number used for sockets; the guest fd is this plus the host fd.
pub const SOCKET_FD_BASE: u32 = 0x4000_0000;

/// The sockets a guest has open, by guest fd, and the epoll set `poll_oneoff` watches
/// them through.
#[derive(Default)]
pub struct SocketTable {
    sockets: HashMap<u32, Socket>,
    pub poll_set: PollSet,
    /// When the guest is one of several instances sharing their ports (`--instances`):
    /// how its binds share them.
    pub shared_ports: Option<crate::instances::InstancePorts>,
    /// The network policy at work (`policy.rs`).
    pub guard: Guard,
    /// How many sockets the guest may still open (shared by instances).
    pub budget: Arc<SocketBudget>,
}

impl Drop for SocketTable {
    fn drop(&mut self) {
        for _ in 0..self.sockets.len() {
            self.budget.give_back();
        }
    }
}

pub fn is_socket_fd(fd: u32) -> bool {
    fd >= SOCKET_FD_BASE
}

impl SocketTable {
    /// The socket `fd` names. A closed socket fd is `BADF`; an fd below
    /// [`SOCKET_FD_BASE`] is preview1's (a file, a directory, stdio) and answers
    /// `NOTSOCK`, which the host turns into `BADF` when preview1 has no such fd either
    /// (`host::with_socket`), as WasmEdge's socket calls on such fds fail in the kernel.
    pub fn get(&self, fd: u32) -> Result<&Socket, Errno> {
        if !is_socket_fd(fd) {
            return Err(ERRNO_NOTSOCK);
        }
        self.sockets.get(&fd).ok_or(ERRNO_BADF)
    }

    pub fn raw_fd(&self, fd: u32) -> Result<RawFd, Errno> {
        self.get(fd).map(AsRawFd::as_raw_fd)
    }

    /// Whether the guest may open one more socket (see [`SocketBudget`]); a call that
    /// would create one checks first, so that `sock_accept` at the cap leaves the
    /// connection queued, as `accept` at a process's descriptor limit does.
    pub fn has_room(&self) -> Result<(), Errno> {
        if self.budget.take() {
            self.budget.give_back();
            Ok(())
        } else {
            Err(ERRNO_MFILE)
        }
    }

    /// Add `socket`; its guest fd is [`SOCKET_FD_BASE`] plus its host fd. At the socket
    /// cap the socket is closed and the answer is `MFILE`.
    pub fn insert(&mut self, socket: Socket) -> Result<u32, Errno> {
        let host_fd = u32::try_from(socket.as_raw_fd()).map_err(|_| ERRNO_BADF)?;
        let fd = SOCKET_FD_BASE.checked_add(host_fd).ok_or(ERRNO_MFILE)?;
        if !self.budget.take() {
            return Err(ERRNO_MFILE);
        }
        if self.sockets.insert(fd, socket).is_some() {
            // The host reused a descriptor we still counted: impossible while we own
            // it, but the count must stay the number of entries.
            self.budget.give_back();
        }
        Ok(fd)
    }

    /// Close `fd`, taking it out of the poll set first (see [`PollSet::forget`]).
    pub fn close(&mut self, fd: u32) -> Result<(), Errno> {
        let socket = self.sockets.remove(&fd).ok_or(ERRNO_BADF)?;
        self.budget.give_back();
        self.poll_set.forget(socket.as_fd());
        drop(socket);
        Ok(())
    }
}
