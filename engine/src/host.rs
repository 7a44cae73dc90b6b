//! The linker: preview1 from wasmtime-wasi, with WasmEdge's socket extension added and
//! six fd functions shadowed. The store's state it links against is `state.rs`'s.
//!
//! The shadowed functions (`fd_close`, `fd_fdstat_get`, `fd_fdstat_set_flags`,
//! `fd_read`, `fd_write`, `poll_oneoff`) send socket fds to [`super::sockets`] and every
//! other fd to the preview1 implementation, which stays reachable under another module
//! name and is called through small wasm trampolines (see [`PREVIEW1_TRAMPOLINES`]).
//! `proc_exit` is shadowed too, so codes of 126 and above exit as on WasmEdge. The calls
//! that write through a directory (`path_open`, `path_create_directory`, …) are shadowed
//! in [`readonly`], so that a read-only directory refuses them with WasmEdge's errno.
//!
//! Bad pointers: the WASI spec (witx) says a function given a misaligned pointer, or an
//! out-of-bounds one it needs, shall trap, and wasmtime-wasi's preview1 does (the guest
//! ends with exit code 134). WasmEdge 0.17.1 returns `ADDRNOTAVAIL` or `FAULT` instead and
//! the guest goes on. The functions the engine implements (the socket extension,
//! `poll_oneoff`) and the shadows of `fd_read`, `fd_write` and `fd_fdstat_get` answer as
//! WasmEdge does, for every descriptor; preview1's other functions keep the spec's trap
//! (ARCHITECTURE.md, "Deliberate differences").
//!
//! A successful `sock_listen` is reported to the [`ListenObserver`](super::state::ListenObserver), if any: that is how
//! an embedder learns the guest is ready without connecting to it.
//!
//! Rust's std declares preview1's own `sock_accept(fd, flags, ro_fd)` while WasmEdge's
//! guests use `sock_accept(fd, ro_fd)`; like WasmEdge, the form each module gets is
//! chosen from the type it imports (likewise the 7- and 8-parameter `sock_recv_from`).
//! WasmEdge's `_v2` names are registered too, with the forms WasmEdge gives them.

use std::sync::{Mutex, PoisonError};

use wasmtime::{Caller, Engine, Linker, Memory, Module, Store, TypedFunc};
use wasmtime_wasi::I32Exit;

use super::abi::*;
use super::poll;

mod readonly;
use super::sockets::{self, AddressForm};
use super::state::{guest_memory, is_socket_fd, HostState, Preview1, SocketTable};

const WASI: &str = "wasi_snapshot_preview1";

/// Run a socket operation against guest memory and the socket table; errno as i32.
fn with_guest(
    caller: &mut Caller<'_, HostState>,
    op: impl FnOnce(&mut SocketTable, &mut GuestMemory) -> Result<(), Errno>,
) -> i32 {
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

/// [`with_guest`] for a call on socket `fd`. A call on an fd that is not one of our
/// sockets is `NOTSOCK` when preview1 has that fd open (a file, a directory, stdio) and
/// `BADF` when nothing has it, as WasmEdge 0.17.1 answers: its socket calls reach the
/// kernel with any open fd, and the kernel says `ENOTSOCK`.
fn with_socket(
    caller: &mut Caller<'_, HostState>,
    fd: i32,
    op: impl FnOnce(&mut SocketTable, &mut GuestMemory) -> Result<(), Errno>,
) -> i32 {
    let status = with_guest(caller, op);
    if status != ERRNO_NOTSOCK as i32 || is_socket_fd(fd as u32) {
        return status;
    }
    if preview1_has_fd(caller, fd) {
        status
    } else {
        ERRNO_BADF as i32
    }
}

/// Whether preview1 has `fd` open: its `fd_fdstat_get` answers with the guest's first
/// 24 bytes of memory as the out-buffer, which are put back afterwards.
fn preview1_has_fd(caller: &mut Caller<'_, HostState>, fd: i32) -> bool {
    const FDSTAT_SIZE: u32 = 24;
    let (Ok(memory), Ok(preview1)) = (guest_memory(caller), caller.data().preview1()) else {
        return false;
    };
    let saved = match GuestMemory::new(memory.data_mut(&mut *caller)).slice(0, FDSTAT_SIZE) {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => return false,
    };
    let status = preview1.fd_fdstat_get.call(&mut *caller, (fd, 0));
    // The same 24 bytes were readable a moment ago, so this cannot fail.
    let _ = GuestMemory::new(memory.data_mut(&mut *caller)).write_bytes(0, &saved);
    matches!(status, Ok(0))
}

/// Where preview1's original definitions stay reachable after the guest-facing names
/// are shadowed, and where the guest's memory is offered to the trampoline module.
const PREVIEW1_ALIAS: &str = "wasock_preview1";
const GUEST_ALIAS: &str = "wasock_guest";

/// Trampolines into preview1. wiggle's preview1 functions find guest memory through
/// their caller's `memory` export, and a host function has no calling instance when the
/// host calls it; calling through this module makes the caller an instance whose
/// `memory` export *is* the guest's memory. Written as text in
/// `preview1_trampolines.wat`, embedded in binary form so that the engine needs no text
/// parser (wasmtime's `wat` feature, and `wast`, are left out of the build).
const PREVIEW1_TRAMPOLINES: &[u8] = include_bytes!("preview1_trampolines.wasm");

/// [`PREVIEW1_TRAMPOLINES`] compiled for `engine`. Compiled once per engine: a store
/// instantiates it twice (for the fd shadows here, and when a guest first writes through
/// a path, for [`readonly`]'s), and a second compilation would add its time (tens of
/// milliseconds) to that first call.
fn trampolines_module(engine: &Engine) -> wasmtime::Result<Module> {
    static COMPILED: Mutex<Option<(Engine, Module)>> = Mutex::new(None);
    // A poisoned lock still holds a compiled module or nothing, both usable.
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((for_engine, module)) = compiled.as_ref() {
        if Engine::same(for_engine, engine) {
            return Ok(module.clone());
        }
    }
    let module = Module::new(engine, PREVIEW1_TRAMPOLINES)?;
    *compiled = Some((engine.clone(), module.clone()));
    Ok(module)
}

/// The number of parameters of `name` as `module` imports it from `wasi_snapshot_preview1`.
fn imported_arity(module: &Module, name: &str) -> Option<usize> {
    module
        .imports()
        .find(|import| import.module() == WASI && import.name() == name)
        .and_then(|import| import.ty().func().map(|ty| ty.params().len()))
}

/// Build the linker for `module`: preview1, then the socket extension and the shadows.
pub fn link(engine: &Engine, module: &Module) -> anyhow::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut HostState| &mut state.wasi)
        .map_err(anyhow::Error::from)?;
    linker
        .alias_module(WASI, PREVIEW1_ALIAS)
        .map_err(anyhow::Error::from)?;
    linker.allow_shadowing(true);
    define_shadows(&mut linker)?;
    readonly::define(&mut linker)?;
    define_sockets(&mut linker, module)?;
    Ok(linker)
}

/// Once the guest is instantiated: give the shadows their way into preview1.
pub fn attach_preview1(
    linker: &mut Linker<HostState>,
    store: &mut Store<HostState>,
    memory: Memory,
) -> anyhow::Result<()> {
    linker
        .define(&mut *store, GUEST_ALIAS, "memory", memory)
        .map_err(anyhow::Error::from)?;
    let trampolines = trampolines_module(store.engine()).map_err(anyhow::Error::from)?;
    let instance = linker
        .instantiate(&mut *store, &trampolines)
        .map_err(anyhow::Error::from)?;
    let preview1 = Preview1 {
        fd_close: instance
            .get_typed_func(&mut *store, "fd_close")
            .map_err(anyhow::Error::from)?,
        fd_fdstat_get: instance
            .get_typed_func(&mut *store, "fd_fdstat_get")
            .map_err(anyhow::Error::from)?,
        fd_fdstat_set_flags: instance
            .get_typed_func(&mut *store, "fd_fdstat_set_flags")
            .map_err(anyhow::Error::from)?,
        fd_read: instance
            .get_typed_func(&mut *store, "fd_read")
            .map_err(anyhow::Error::from)?,
        fd_write: instance
            .get_typed_func(&mut *store, "fd_write")
            .map_err(anyhow::Error::from)?,
        poll_oneoff: instance
            .get_typed_func(&mut *store, "poll_oneoff")
            .map_err(anyhow::Error::from)?,
        clock_time_get: instance
            .get_typed_func(&mut *store, "clock_time_get")
            .map_err(anyhow::Error::from)?,
    };
    store.data_mut().set_preview1(preview1);
    Ok(())
}

fn define_shadows(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_close",
        |mut caller: Caller<'_, HostState>, fd: i32| -> wasmtime::Result<i32> {
            if is_socket_fd(fd as u32) {
                return Ok(match caller.data_mut().sockets.close(fd as u32) {
                    Ok(()) => 0,
                    Err(errno) => errno as i32,
                });
            }
            let preview1 = caller.data().preview1()?;
            preview1.fd_close.call(&mut caller, fd)
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_get",
        |mut caller: Caller<'_, HostState>, fd: i32, stat: i32| -> wasmtime::Result<i32> {
            let checked = with_guest(&mut caller, |_, memory| {
                aligned(stat as u32, 8)?;
                memory.check(stat as u32, 24)
            });
            if checked != 0 {
                return Ok(checked);
            }
            if is_socket_fd(fd as u32) {
                return Ok(with_guest(&mut caller, |table, memory| {
                    sockets::fdstat(table, memory, fd as u32, stat as u32)
                }));
            }
            let preview1 = caller.data().preview1()?;
            preview1.fd_fdstat_get.call(&mut caller, (fd, stat))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_set_flags",
        |mut caller: Caller<'_, HostState>, fd: i32, flags: i32| -> wasmtime::Result<i32> {
            if is_socket_fd(fd as u32) {
                return Ok(with_guest(&mut caller, |table, _| {
                    sockets::set_fdflags(table, fd as u32, flags as u32)
                }));
            }
            let preview1 = caller.data().preview1()?;
            preview1.fd_fdstat_set_flags.call(&mut caller, (fd, flags))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_read",
        |caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nread: i32| {
            shadow_iovec_call(
                caller,
                (fd, iovs, iovs_len, nread),
                sockets::fd_read,
                |preview1| preview1.fd_read,
            )
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_write",
        |caller: Caller<'_, HostState>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
            shadow_iovec_call(
                caller,
                (fd, iovs, iovs_len, nwritten),
                sockets::fd_write,
                |preview1| preview1.fd_write,
            )
        },
    )?;
    let poll_oneoff = |mut caller: Caller<'_, HostState>,
                       subs: i32,
                       events: i32,
                       count: i32,
                       nevents: i32|
     -> wasmtime::Result<i32> {
        poll::poll_oneoff(&mut caller, subs, events, count, nevents)
    };
    linker.func_wrap(WASI, "poll_oneoff", poll_oneoff)?;
    // WasmEdge's edge-triggered variant. Level-triggered answers are a superset of
    // edge-triggered ones, so a guest that drains until EAGAIN (as edge-triggered code
    // must) behaves the same; it may just be woken more often.
    linker.func_wrap(WASI, "epoll_oneoff", poll_oneoff)?;
    // wasmtime-wasi traps on codes of 126 and above (outside WASI's [0, 126)); WasmEdge
    // 0.17.1 exits with whatever code the guest gives, so the guest's code comes through.
    linker.func_wrap(WASI, "proc_exit", |code: i32| -> wasmtime::Result<()> {
        Err(I32Exit(code).into())
    })?;
    Ok(())
}

/// The signature `fd_read` and `fd_write` share: `(fd, iovs, iovs_len, *count)`.
type IovecCall = (i32, i32, i32, i32);
/// [`sockets::fd_read`] or [`sockets::fd_write`].
type SocketIovecCall = fn(&SocketTable, &mut GuestMemory, u32, u32, u32, u32) -> Result<(), Errno>;

/// `fd_read`/`fd_write` for a socket descriptor go to `on_socket`; any other descriptor
/// goes to preview1's original (`original` picks it). Their pointers are checked first,
/// for every descriptor, with WasmEdge's answers: misaligned `ADDRNOTAVAIL` (see
/// [`aligned`]), outside memory `FAULT`, more than `IOV_MAX` iovecs `INVAL` (preview1
/// itself would trap on a bad pointer, as the WASI spec says; see the module's doc).
fn shadow_iovec_call(
    mut caller: Caller<'_, HostState>,
    args: IovecCall,
    on_socket: SocketIovecCall,
    original: fn(Preview1) -> TypedFunc<IovecCall, i32>,
) -> wasmtime::Result<i32> {
    let (fd, iovs, iovs_len, count) = args;
    let checked = with_guest(&mut caller, |_, memory| {
        aligned(iovs as u32, 4)?;
        aligned(count as u32, 4)?;
        memory.iovecs(iovs as u32, iovs_len as u32)?;
        memory.check(count as u32, 4)
    });
    if checked != 0 {
        return Ok(checked);
    }
    if is_socket_fd(fd as u32) {
        return Ok(with_guest(&mut caller, |table, memory| {
            on_socket(
                table,
                memory,
                fd as u32,
                iovs as u32,
                iovs_len as u32,
                count as u32,
            )
        }));
    }
    let func = original(caller.data().preview1()?);
    func.call(&mut caller, args)
}

/// Register `func` under each of `names` (WasmEdge's original and `_v2` names).
fn define_as<Params, Args>(
    linker: &mut Linker<HostState>,
    names: &[&str],
    func: impl wasmtime::IntoFunc<HostState, Params, Args> + Copy,
) -> anyhow::Result<()> {
    for name in names {
        linker
            .func_wrap(WASI, name, func)
            .map_err(anyhow::Error::from)?;
    }
    Ok(())
}

/// `sock_getlocaladdr(fd, addr, addr_type, port)`, or `sock_getpeeraddr` when `peer`.
fn socket_address(peer: bool) -> impl Fn(Caller<'_, HostState>, i32, i32, i32, i32) -> i32 + Copy {
    move |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, addr_type: i32, port: i32| {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::socket_address(
                table,
                memory,
                fd as u32,
                addr as u32,
                Some(addr_type as u32),
                port as u32,
                peer,
            )
        })
    }
}

/// The `_v2` forms: no address-type out-pointer (the family is in the 128-byte storage).
fn socket_address_v2(peer: bool) -> impl Fn(Caller<'_, HostState>, i32, i32, i32) -> i32 + Copy {
    move |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, port: i32| {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::socket_address(
                table,
                memory,
                fd as u32,
                addr as u32,
                None,
                port as u32,
                peer,
            )
        })
    }
}

/// `sock_bind(fd, addr, port)` taking addresses in `form`.
fn bind(form: AddressForm) -> impl Fn(Caller<'_, HostState>, i32, i32, i32) -> i32 + Copy {
    move |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, port: i32| {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::bind(table, memory, fd as u32, addr as u32, port as u32, form)
        })
    }
}

/// `sock_connect(fd, addr, port)` taking addresses in `form`.
fn connect(form: AddressForm) -> impl Fn(Caller<'_, HostState>, i32, i32, i32) -> i32 + Copy {
    move |mut caller: Caller<'_, HostState>, fd: i32, addr: i32, port: i32| {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::connect(table, memory, fd as u32, addr as u32, port as u32, form)
        })
    }
}

/// `sock_send_to(fd, iovs, iovs_len, addr, port, si_flags, so_len)` taking addresses in
/// `form`.
fn send_to(
    form: AddressForm,
) -> impl Fn(Caller<'_, HostState>, i32, i32, i32, i32, i32, i32, i32) -> i32 + Copy {
    move |mut caller: Caller<'_, HostState>,
          fd: i32,
          iovs: i32,
          iovs_len: i32,
          addr: i32,
          port: i32,
          si_flags: i32,
          so_len: i32| {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::send_to(
                table,
                memory,
                fd as u32,
                iovs as u32,
                iovs_len as u32,
                addr as u32,
                port as u32,
                si_flags as u32,
                so_len as u32,
                form,
            )
        })
    }
}

fn define_sockets(linker: &mut Linker<HostState>, module: &Module) -> anyhow::Result<()> {
    let open = |mut caller: Caller<'_, HostState>, family: i32, kind: i32, ro_fd: i32| -> i32 {
        with_guest(&mut caller, |table, memory| {
            sockets::open(table, memory, family as u32, kind as u32, ro_fd as u32)
        })
    };
    define_as(linker, &["sock_open", "sock_open_v2"], open)?;
    define_as(linker, &["sock_bind"], bind(AddressForm::RawIp))?;
    define_as(linker, &["sock_bind_v2"], bind(AddressForm::RawIpOrStorage))?;
    let listen = |mut caller: Caller<'_, HostState>, fd: i32, backlog: i32| -> i32 {
        let errno = with_socket(&mut caller, fd, |table, _| {
            sockets::listen(table, fd as u32, backlog)
        });
        if errno == 0 {
            caller.data_mut().observe_listen(fd as u32);
        }
        errno
    };
    define_as(linker, &["sock_listen", "sock_listen_v2"], listen)?;
    let accept_with_flags =
        |mut caller: Caller<'_, HostState>, fd: i32, flags: i32, ro_fd: i32| -> i32 {
            with_socket(&mut caller, fd, |table, memory| {
                sockets::accept(table, memory, fd as u32, flags as u32, ro_fd as u32)
            })
        };
    let accept = |mut caller: Caller<'_, HostState>, fd: i32, ro_fd: i32| -> i32 {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::accept(table, memory, fd as u32, 0, ro_fd as u32)
        })
    };
    if imported_arity(module, "sock_accept") == Some(3) {
        define_as(linker, &["sock_accept"], accept_with_flags)?;
    } else {
        define_as(linker, &["sock_accept"], accept)?;
    }
    define_as(linker, &["sock_accept_v2"], accept_with_flags)?;
    define_as(linker, &["sock_connect"], connect(AddressForm::RawIp))?;
    define_as(
        linker,
        &["sock_connect_v2"],
        connect(AddressForm::RawIpOrStorage),
    )?;
    let recv = |mut caller: Caller<'_, HostState>,
                fd: i32,
                iovs: i32,
                iovs_len: i32,
                ri_flags: i32,
                ro_len: i32,
                ro_flags: i32|
     -> i32 {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::recv(
                table,
                memory,
                fd as u32,
                iovs as u32,
                iovs_len as u32,
                ri_flags as u32,
                ro_len as u32,
                ro_flags as u32,
            )
        })
    };
    define_as(linker, &["sock_recv", "sock_recv_v2"], recv)?;
    // WasmEdge's older `sock_recv_from` has no port out-pointer (7 parameters); both forms
    // share one implementation.
    #[allow(clippy::too_many_arguments)]
    fn recv_from_either(
        caller: &mut Caller<'_, HostState>,
        fd: i32,
        iovs: i32,
        iovs_len: i32,
        addr: i32,
        ri_flags: i32,
        port: Option<i32>,
        ro_len: i32,
        ro_flags: i32,
    ) -> i32 {
        with_socket(caller, fd, |table, memory| {
            sockets::recv_from(
                table,
                memory,
                fd as u32,
                iovs as u32,
                iovs_len as u32,
                addr as u32,
                ri_flags as u32,
                port.map(|port| port as u32),
                ro_len as u32,
                ro_flags as u32,
            )
        })
    }
    let recv_from_without_port = |mut caller: Caller<'_, HostState>,
                                  fd: i32,
                                  iovs: i32,
                                  iovs_len: i32,
                                  addr: i32,
                                  ri_flags: i32,
                                  ro_len: i32,
                                  ro_flags: i32|
     -> i32 {
        recv_from_either(
            &mut caller,
            fd,
            iovs,
            iovs_len,
            addr,
            ri_flags,
            None,
            ro_len,
            ro_flags,
        )
    };
    let recv_from = |mut caller: Caller<'_, HostState>,
                     fd: i32,
                     iovs: i32,
                     iovs_len: i32,
                     addr: i32,
                     ri_flags: i32,
                     port: i32,
                     ro_len: i32,
                     ro_flags: i32|
     -> i32 {
        recv_from_either(
            &mut caller,
            fd,
            iovs,
            iovs_len,
            addr,
            ri_flags,
            Some(port),
            ro_len,
            ro_flags,
        )
    };
    if imported_arity(module, "sock_recv_from") == Some(7) {
        define_as(linker, &["sock_recv_from"], recv_from_without_port)?;
    } else {
        define_as(linker, &["sock_recv_from"], recv_from)?;
    }
    define_as(linker, &["sock_recv_from_v2"], recv_from)?;
    let send = |mut caller: Caller<'_, HostState>,
                fd: i32,
                iovs: i32,
                iovs_len: i32,
                si_flags: i32,
                so_len: i32|
     -> i32 {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::send(
                table,
                memory,
                fd as u32,
                iovs as u32,
                iovs_len as u32,
                si_flags as u32,
                so_len as u32,
            )
        })
    };
    define_as(linker, &["sock_send", "sock_send_v2"], send)?;
    define_as(linker, &["sock_send_to"], send_to(AddressForm::RawIp))?;
    define_as(
        linker,
        &["sock_send_to_v2"],
        send_to(AddressForm::RawIpOrStorage),
    )?;
    let shutdown = |mut caller: Caller<'_, HostState>, fd: i32, how: i32| -> i32 {
        with_socket(&mut caller, fd, |table, _| {
            sockets::shutdown(table, fd as u32, how as u32)
        })
    };
    define_as(linker, &["sock_shutdown"], shutdown)?;
    define_as(linker, &["sock_getlocaladdr"], socket_address(false))?;
    define_as(linker, &["sock_getpeeraddr"], socket_address(true))?;
    define_as(linker, &["sock_getlocaladdr_v2"], socket_address_v2(false))?;
    define_as(linker, &["sock_getpeeraddr_v2"], socket_address_v2(true))?;
    let get_option = |mut caller: Caller<'_, HostState>,
                      fd: i32,
                      level: i32,
                      name: i32,
                      flag: i32,
                      flag_size: i32|
     -> i32 {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::get_option(
                table,
                memory,
                fd as u32,
                level as u32,
                name as u32,
                flag as u32,
                flag_size as u32,
            )
        })
    };
    define_as(linker, &["sock_getsockopt"], get_option)?;
    let set_option = |mut caller: Caller<'_, HostState>,
                      fd: i32,
                      level: i32,
                      name: i32,
                      flag: i32,
                      flag_size: i32|
     -> i32 {
        with_socket(&mut caller, fd, |table, memory| {
            sockets::set_option(
                table,
                memory,
                fd as u32,
                level as u32,
                name as u32,
                flag as u32,
                flag_size as u32,
            )
        })
    };
    define_as(linker, &["sock_setsockopt"], set_option)?;
    let getaddrinfo = |mut caller: Caller<'_, HostState>,
                       node: i32,
                       node_len: i32,
                       service: i32,
                       service_len: i32,
                       hints: i32,
                       res: i32,
                       max_len: i32,
                       res_len: i32|
     -> i32 {
        with_guest(&mut caller, |table, memory| {
            let (node, node_len, service, service_len) = (
                node as u32,
                node_len as u32,
                service as u32,
                service_len as u32,
            );
            sockets::getaddrinfo(
                table,
                memory,
                node,
                node_len,
                service,
                service_len,
                hints as u32,
                res as u32,
                max_len as u32,
                res_len as u32,
            )
        })
    };
    define_as(linker, &["sock_getaddrinfo"], getaddrinfo)?;
    Ok(())
}
