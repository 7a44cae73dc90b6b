//! The store's state and the linker: preview1 from wasmtime-wasi, with WasmEdge's socket
//! extension added and six fd functions shadowed.
//!
//! The shadowed functions (`fd_close`, `fd_fdstat_get`, `fd_fdstat_set_flags`,
//! `fd_read`, `fd_write`, `poll_oneoff`) send socket fds to [`super::sockets`] and every
//! other fd to the preview1 implementation, which is taken out of the linker as a
//! `Func` before it is shadowed and called through the override's `Caller`.
//!
//! Rust's std declares preview1's own `sock_accept(fd, flags, ro_fd)` while WasmEdge's
//! guests use `sock_accept(fd, ro_fd)`; like WasmEdge, the form each module gets is
//! chosen from the type it imports (likewise the 7- and 8-parameter `sock_recv_from`).

use anyhow::Context;
use wasmtime::{Caller, Extern, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::abi::*;
use super::poll;
use super::sockets::{self, is_socket_fd, SocketTable};

const WASI: &str = "wasi_snapshot_preview1";

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

pub struct HostState {
    pub wasi: WasiP1Ctx,
    pub sockets: SocketTable,
    pub memory: Option<Memory>,
    preview1: Option<Preview1>,
}

impl HostState {
    pub fn new(wasi: WasiP1Ctx) -> Self {
        HostState { wasi, sockets: SocketTable::default(), memory: None, preview1: None }
    }

    pub fn preview1(&self) -> wasmtime::Result<Preview1> {
        self.preview1.clone().ok_or_else(|| wasmtime::format_err!("preview1 functions were not captured before linking"))
    }
}

/// The guest's exported memory, or `FAULT` when it has none.
pub fn guest_memory(caller: &mut Caller<'_, HostState>) -> Result<Memory, Errno> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    let memory = caller.get_export("memory").and_then(Extern::into_memory).ok_or(ERRNO_FAULT)?;
    caller.data_mut().memory = Some(memory);
    Ok(memory)
}

/// Run a socket operation against guest memory and the socket table; errno as i32.
fn with_guest(caller: &mut Caller<'_, HostState>, op: impl FnOnce(&mut SocketTable, &mut GuestMemory) -> Result<(), Errno>) -> i32 {
    let memory = match guest_memory(caller) {
        Ok(memory) => memory,
        Err(errno) => return errno as i32,
    };
    let (bytes, state) = memory.data_and_store_mut(caller);
    let mut guest = GuestMemory::new(bytes);
    match op(&mut state.sockets, &mut guest) {
        Ok(()) => 0,
        Err(errno) => errno as i32,
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    linker: &Linker<HostState>,
    store: &mut Store<HostState>,
    name: &str,
) -> anyhow::Result<TypedFunc<P, R>> {
    let func = linker
        .get(&mut *store, WASI, name)
        .ok()
        .and_then(Extern::into_func)
        .with_context(|| format!("wasmtime-wasi does not define `{WASI}::{name}`"))?;
    func.typed::<P, R>(&*store).map_err(anyhow::Error::from).with_context(|| format!("unexpected type of preview1 `{name}`"))
}

/// The number of parameters of `name` as `module` imports it from `wasi_snapshot_preview1`.
fn imported_arity(module: &Module, name: &str) -> Option<usize> {
    module
        .imports()
        .find(|import| import.module() == WASI && import.name() == name)
        .and_then(|import| import.ty().func().map(|ty| ty.params().len()))
}

/// Build the linker for `module` in `store`: preview1, then sockets and the shadows.
pub fn link(store: &mut Store<HostState>, module: &Module) -> anyhow::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(store.engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut HostState| &mut state.wasi).map_err(anyhow::Error::from)?;
    let preview1 = Preview1 {
        fd_close: typed(&linker, store, "fd_close")?,
        fd_fdstat_get: typed(&linker, store, "fd_fdstat_get")?,
        fd_fdstat_set_flags: typed(&linker, store, "fd_fdstat_set_flags")?,
        fd_read: typed(&linker, store, "fd_read")?,
        fd_write: typed(&linker, store, "fd_write")?,
        poll_oneoff: typed(&linker, store, "poll_oneoff")?,
        clock_time_get: typed(&linker, store, "clock_time_get")?,
    };
    store.data_mut().preview1 = Some(preview1);
    linker.allow_shadowing(true);
    define_shadows(&mut linker)?;
    define_sockets(&mut linker, module)?;
    Ok(linker)
}

fn define_shadows(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.func_wrap(WASI, "fd_close", |mut caller: Caller<'_, HostState>, fd: i32| -> wasmtime::Result<i32> {
        if is_socket_fd(fd as u32) {
            return Ok(match caller.data_mut().sockets.close(fd as u32) {
                Ok(()) => 0,
                Err(errno) => errno as i32,
            });
        }
        let preview1 = caller.data().preview1()?;
        preview1.fd_close.call(&mut caller, fd)
    })?;
    linker.func_wrap(WASI, "fd_fdstat_get", |mut caller: Caller<'_, HostState>, fd: i32, stat: i32| -> wasmtime::Result<i32> {
        if is_socket_fd(fd as u32) {
            return Ok(with_guest(&mut caller, |table, memory| sockets::fdstat(table, memory, fd as u32, stat as u32)));
        }
        let preview1 = caller.data().preview1()?;
        preview1.fd_fdstat_get.call(&mut caller, (fd, stat))
    })?;
    linker.func_wrap(WASI, "fd_fdstat_set_flags", |mut caller: Caller<'_, HostState>, fd: i32, flags: i32| -> wasmtime::Result<i32> {
        if is_socket_fd(fd as u32) {
            return Ok(with_guest(&mut caller, |table, _| sockets::set_fdflags(table, fd as u32, flags as u32)));
        }
        let preview1 = caller.data().preview1()?;
        preview1.fd_fdstat_set_flags.call(&mut caller, (fd, flags))
    })?;
    linker.func_wrap(
        WASI,
        "fd_read",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nread: i32| -> wasmtime::Result<i32> {
            if is_socket_fd(fd as u32) {
                return Ok(with_guest(&mut caller, |table, memory| {
                    sockets::fd_read(table, memory, fd as u32, iovs as u32, iovs_len as u32, nread as u32)
                }));
            }
            let preview1 = caller.data().preview1()?;
            preview1.fd_read.call(&mut caller, (fd, iovs, iovs_len, nread))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> wasmtime::Result<i32> {
            if is_socket_fd(fd as u32) {
                return Ok(with_guest(&mut caller, |table, memory| {
                    sockets::fd_write(table, memory, fd as u32, iovs as u32, iovs_len as u32, nwritten as u32)
                }));
            }
            let preview1 = caller.data().preview1()?;
            preview1.fd_write.call(&mut caller, (fd, iovs, iovs_len, nwritten))
        },
    )?;
    linker.func_wrap(
        WASI,
        "poll_oneoff",
        |mut caller: Caller<'_, HostState>, subs: i32, events: i32, count: i32, nevents: i32| -> wasmtime::Result<i32> {
            poll::poll_oneoff(&mut caller, subs, events, count, nevents)
        },
    )?;
    Ok(())
}

fn define_sockets(linker: &mut Linker<HostState>, module: &Module) -> anyhow::Result<()> {
    linker.func_wrap(WASI, "sock_open", |mut caller: Caller<'_, HostState>, family: i32, kind: i32, ro_fd: i32| -> i32 {
        with_guest(&mut caller, |table, memory| sockets::open(table, memory, family as u32, kind as u32, ro_fd as u32))
    })?;
    linker.func_wrap(WASI, "sock_bind", |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, port: i32| -> i32 {
        with_guest(&mut caller, |table, memory| sockets::bind(table, memory, fd as u32, addr as u32, port as u32))
    })?;
    linker.func_wrap(WASI, "sock_listen", |mut caller: Caller<'_, HostState>, fd: i32, backlog: i32| -> i32 {
        with_guest(&mut caller, |table, _| sockets::listen(table, fd as u32, backlog))
    })?;
    if imported_arity(module, "sock_accept") == Some(3) {
        linker.func_wrap(WASI, "sock_accept", |mut caller: Caller<'_, HostState>, fd: i32, flags: i32, ro_fd: i32| -> i32 {
            with_guest(&mut caller, |table, memory| sockets::accept(table, memory, fd as u32, flags as u32, ro_fd as u32))
        })?;
    } else {
        linker.func_wrap(WASI, "sock_accept", |mut caller: Caller<'_, HostState>, fd: i32, ro_fd: i32| -> i32 {
            with_guest(&mut caller, |table, memory| sockets::accept(table, memory, fd as u32, 0, ro_fd as u32))
        })?;
    }
    linker.func_wrap(WASI, "sock_connect", |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, port: i32| -> i32 {
        with_guest(&mut caller, |table, memory| sockets::connect(table, memory, fd as u32, addr as u32, port as u32))
    })?;
    linker.func_wrap(
        WASI,
        "sock_recv",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, ri_flags: i32, ro_len: i32, ro_flags: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::recv(table, memory, fd as u32, iovs as u32, iovs_len as u32, ri_flags as u32, ro_len as u32, ro_flags as u32)
            })
        },
    )?;
    if imported_arity(module, "sock_recv_from") == Some(7) {
        linker.func_wrap(
            WASI,
            "sock_recv_from",
            |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, addr: i32, ri_flags: i32, ro_len: i32, ro_flags: i32| -> i32 {
                with_guest(&mut caller, |table, memory| {
                    let (fd, iovs, iovs_len, addr) = (fd as u32, iovs as u32, iovs_len as u32, addr as u32);
                    sockets::recv_from(table, memory, fd, iovs, iovs_len, addr, ri_flags as u32, None, ro_len as u32, ro_flags as u32)
                })
            },
        )?;
    } else {
        linker.func_wrap(
            WASI,
            "sock_recv_from",
            |mut caller: Caller<'_, HostState>,
             fd: i32,
             iovs: i32,
             iovs_len: i32,
             addr: i32,
             ri_flags: i32,
             port: i32,
             ro_len: i32,
             ro_flags: i32|
             -> i32 {
                with_guest(&mut caller, |table, memory| {
                    let (fd, iovs, iovs_len, addr) = (fd as u32, iovs as u32, iovs_len as u32, addr as u32);
                    let port = Some(port as u32);
                    sockets::recv_from(table, memory, fd, iovs, iovs_len, addr, ri_flags as u32, port, ro_len as u32, ro_flags as u32)
                })
            },
        )?;
    }
    linker.func_wrap(
        WASI,
        "sock_send",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, si_flags: i32, so_len: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::send(table, memory, fd as u32, iovs as u32, iovs_len as u32, si_flags as u32, so_len as u32)
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "sock_send_to",
        |mut caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, addr: i32, port: i32, si_flags: i32, so_len: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                let (fd, iovs, iovs_len, addr) = (fd as u32, iovs as u32, iovs_len as u32, addr as u32);
                sockets::send_to(table, memory, fd, iovs, iovs_len, addr, port as u32, si_flags as u32, so_len as u32)
            })
        },
    )?;
    linker.func_wrap(WASI, "sock_shutdown", |mut caller: Caller<'_, HostState>, fd: i32, how: i32| -> i32 {
        with_guest(&mut caller, |table, _| sockets::shutdown(table, fd as u32, how as u32))
    })?;
    linker.func_wrap(
        WASI,
        "sock_getlocaladdr",
        |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, addr_type: i32, port: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::socket_address(table, memory, fd as u32, addr as u32, addr_type as u32, port as u32, false)
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "sock_getpeeraddr",
        |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, addr_type: i32, port: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::socket_address(table, memory, fd as u32, addr as u32, addr_type as u32, port as u32, true)
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "sock_getsockopt",
        |mut caller: Caller<'_, HostState>, fd: i32, level: i32, name: i32, flag: i32, flag_size: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::get_option(table, memory, fd as u32, level as u32, name as u32, flag as u32, flag_size as u32)
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "sock_setsockopt",
        |mut caller: Caller<'_, HostState>, fd: i32, level: i32, name: i32, flag: i32, flag_size: i32| -> i32 {
            with_guest(&mut caller, |table, memory| {
                sockets::set_option(table, memory, fd as u32, level as u32, name as u32, flag as u32, flag_size as u32)
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "sock_getaddrinfo",
        |mut caller: Caller<'_, HostState>,
         node: i32,
         node_len: i32,
         service: i32,
         service_len: i32,
         hints: i32,
         res: i32,
         max_len: i32,
         res_len: i32|
         -> i32 {
            with_guest(&mut caller, |_, memory| {
                sockets::getaddrinfo(
                    memory,
                    node as u32,
                    node_len as u32,
                    service as u32,
                    service_len as u32,
                    hints as u32,
                    res as u32,
                    max_len as u32,
                    res_len as u32,
                )
            })
        },
    )?;
    Ok(())
}
