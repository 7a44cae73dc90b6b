//! WasmEdge's socket extension on real OS sockets.
//!
//! Each function here implements one import of module `wasi_snapshot_preview1` with the
//! exact signature and memory layout WasmEdge uses (checked against WasmEdge's
//! `wasifunc.cpp`/`inode-linux.cpp` and the `wasmedge_wasi_socket` 0.5 guest crate):
//!
//! - an address is an 8-byte `{ buf: u32, buf_len: u32 }` whose buffer holds the raw IP
//!   (4 or 16 bytes) or, with `buf_len == 128` and only for the `_v2` calls, an address
//!   storage: a little-endian `u16` family at offset 0 and the IP from offset 2;
//! - `sock_getaddrinfo` fills a guest-linked list of packed 28-byte `addrinfo` entries,
//!   each pointing to a 12-byte sockaddr `{ family: u8, _, sa_data_len: u32, sa_data }`
//!   whose data is the port (big-endian) followed by the rest of the C `sockaddr`;
//! - socket options are level 0 (`SOL_SOCKET`) with names 0–14 in WasmEdge's order.
//!
//! Semantics follow WasmEdge: sockets are blocking until the guest sets `NONBLOCK`
//! through `fd_fdstat_set_flags`, and then a call that would block returns `AGAIN` at
//! once. Socket fds live at [`SOCKET_FD_BASE`](super::state::SOCKET_FD_BASE) and above,
//! a range the preview1 table never hands out, so the shadowed `fd_*` functions can route
//! by number alone.
//!
//! Where WasmEdge 0.17.1 is wrong we do the right thing instead:
//! - `sock_recv_from` reports the peer port in host order (WasmEdge writes the
//!   network-order value, so a UDP echo server replies to a byte-swapped port);
//! - `sock_accept` with the `NONBLOCK` flag makes the *accepted* socket non-blocking
//!   (WasmEdge sets the flag on the listener);
//! - `sock_getaddrinfo` writes a canonical name only within the buffer length the guest
//!   declared (WasmEdge copies it whole, past the guest's buffer);
//! - `sock_shutdown` with no direction is `INVAL` (WasmEdge shuts down reading);
//! - a port above 65535 is `INVAL` (WasmEdge cuts it to 16 bits: 0x10000 + P is P);
//! - an address storage's family is its whole `u16`, and one that is not IPv4, IPv6 or
//!   Unix is `AFNOSUPPORT` (WasmEdge keeps its low byte: 0x0201 is IPv4);
//! - `SO_TYPE` and `SO_ERROR` into a buffer shorter than an int get the translated value
//!   cut to it (WasmEdge crashes).
//!
//! `AF_UNIX` is refused with `NOSYS`, as WasmEdge does unless started with
//! `--allow-af-unix`.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, SockAddr, Socket, Type};

use super::abi::*;
use super::policy::Direction;
use super::state::SocketTable;

fn last_errno() -> Errno {
    errno_from_io(&std::io::Error::last_os_error())
}

fn io_errno(err: std::io::Error) -> Errno {
    errno_from_io(&err)
}

/// Which form of an address struct a call takes: WasmEdge's first-generation calls
/// (`sock_bind`, `sock_connect`, `sock_send_to`) a raw 4- or 16-byte IP only, their `_v2`
/// forms also a 128-byte address storage, as WasmEdge 0.17.1 has them (a storage given to
/// a first-generation call is `INVAL` there too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressForm {
    RawIp,
    RawIpOrStorage,
}

/// An IP read from a guest address struct, before a port is attached. A storage's family
/// is its whole little-endian `u16`: one that is not IPv4, IPv6 or Unix is `AFNOSUPPORT`
/// (WasmEdge 0.17.1 keeps only its low byte, so 0x0201 reads as IPv4).
fn read_address(
    memory: &GuestMemory,
    address_ptr: u32,
    form: AddressForm,
) -> Result<IpAddr, Errno> {
    // The whole struct first, so `address_ptr + 4` cannot overflow.
    memory.check(address_ptr, 8)?;
    let buf = memory.read_u32(address_ptr)?;
    let len = memory.read_u32(address_ptr + 4)?;
    let bytes = memory.slice(buf, len)?;
    let (family, ip) = match len {
        4 => (u16::from(AF_INET4), bytes),
        16 => (u16::from(AF_INET6), bytes),
        128 if form == AddressForm::RawIpOrStorage => {
            (u16::from_le_bytes([bytes[0], bytes[1]]), &bytes[2..])
        }
        _ => return Err(ERRNO_INVAL),
    };
    match u8::try_from(family) {
        Ok(AF_INET4) => Ok(IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))),
        Ok(AF_INET6) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&ip[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        Ok(AF_UNIX) => Err(ERRNO_NOSYS),
        _ => Err(ERRNO_AFNOSUPPORT),
    }
}

/// Where `sock_getlocaladdr`-style calls write an address, and in which form.
struct AddressOut {
    buf: u32,
    len: u32,
}

impl AddressOut {
    fn read(memory: &GuestMemory, address_ptr: u32) -> Result<Self, Errno> {
        memory.check(address_ptr, 8)?;
        let buf = memory.read_u32(address_ptr)?;
        let len = memory.read_u32(address_ptr + 4)?;
        memory.check(buf, len)?;
        Ok(AddressOut { buf, len })
    }

    /// Write just the IP's octets at the start of the buffer, whatever its length.
    fn write_raw(&self, memory: &mut GuestMemory, ip: IpAddr) -> Result<(), Errno> {
        let octets = ip_octets(ip);
        if (self.len as usize) < octets.len() {
            return Err(ERRNO_NOMEM);
        }
        memory.write_bytes(self.buf, &octets)
    }

    /// Write `ip` as a raw 4/16-byte buffer, or as storage (family + IP) when 128 long.
    fn write(&self, memory: &mut GuestMemory, ip: IpAddr) -> Result<(), Errno> {
        if self.len != 128 {
            return self.write_raw(memory, ip);
        }
        let family = if ip.is_ipv4() { AF_INET4 } else { AF_INET6 };
        memory.write_u16(self.buf, family as u16)?;
        memory.write_bytes(self.buf + 2, &ip_octets(ip))
    }
}

/// The IP's 4 or 16 octets, in network order.
fn ip_octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// `sock_open(af: u8, type: u8, ro_fd: *u32)`
pub fn open(
    table: &mut SocketTable,
    memory: &mut GuestMemory,
    family: u32,
    kind: u32,
    ro_fd: u32,
) -> Result<(), Errno> {
    aligned(ro_fd, 4)?;
    memory.check(ro_fd, 4)?;
    let domain = match family {
        f if f == AF_INET4 as u32 => Domain::IPV4,
        f if f == AF_INET6 as u32 => Domain::IPV6,
        f if f == AF_UNIX as u32 => return Err(ERRNO_NOSYS),
        _ => return Err(ERRNO_INVAL),
    };
    let ty = match kind {
        k if k == SOCK_DGRAM as u32 => Type::DGRAM,
        k if k == SOCK_STREAM as u32 => Type::STREAM,
        _ => return Err(ERRNO_INVAL),
    };
    table.has_room()?;
    let socket = Socket::new(domain, ty, None).map_err(io_errno)?;
    let fd = table.insert(socket)?;
    memory.write_u32(ro_fd, fd)
}

/// The socket address a guest names by an address struct and a port. A port is 16 bits:
/// a larger one is `INVAL` (WasmEdge 0.17.1 cuts it, so 0x10000 + P is P there).
fn read_sockaddr(
    memory: &GuestMemory,
    address_ptr: u32,
    port: u32,
    form: AddressForm,
) -> Result<SockAddr, Errno> {
    let ip = read_address(memory, address_ptr, form)?;
    let port = u16::try_from(port).map_err(|_| ERRNO_INVAL)?;
    Ok(SockAddr::from(SocketAddr::new(ip, port)))
}

/// `sock_bind(fd, addr: *address, port: u32)`. Under an `allow-listen` list, the address
/// as the guest asks for it (port 0 included: only a `*` entry covers it) must be listed.
pub fn bind(
    table: &mut SocketTable,
    memory: &GuestMemory,
    fd: u32,
    address_ptr: u32,
    port: u32,
    form: AddressForm,
) -> Result<(), Errno> {
    aligned(address_ptr, 4)?;
    let addr = read_sockaddr(memory, address_ptr, port, form)?;
    table.get(fd)?;
    if let Some(wanted) = addr.as_socket() {
        table.guard.check(Direction::Listen, wanted)?;
    }
    let socket = table.get(fd)?;
    match &table.shared_ports {
        Some(shared) => shared.bind(socket, &addr),
        None => socket.bind(&addr),
    }
    .map_err(io_errno)
}

/// `sock_listen(fd, backlog: i32)`. A socket never bound is bound by the kernel to the
/// wildcard address and a port of its choosing: under an `allow-listen` list that is
/// judged as a bind to `0.0.0.0:0` (or `[::]:0`), which only a wildcard entry covers.
pub fn listen(table: &mut SocketTable, fd: u32, backlog: i32) -> Result<(), Errno> {
    let socket = table.get(fd)?;
    if table.guard.is_restrictive() {
        if let Some(local) = socket.local_addr().ok().and_then(|a| a.as_socket()) {
            if local.port() == 0 {
                table.guard.check(Direction::Listen, local)?;
            }
        }
    }
    let socket = table.get(fd)?;
    socket.listen(backlog).map_err(io_errno)?;
    let raw_fd = socket.as_raw_fd();
    table.poll_set.set_listening(raw_fd, true);
    Ok(())
}

/// `sock_accept(fd, ro_fd)` (WasmEdge's 2-parameter form) and, with `fd_flags`, the
/// preview1 form `sock_accept(fd, flags, ro_fd)`.
pub fn accept(
    table: &mut SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    fd_flags: u32,
    ro_fd: u32,
) -> Result<(), Errno> {
    aligned(ro_fd, 4)?;
    memory.check(ro_fd, 4)?;
    if fd_flags & !0x1f != 0 {
        return Err(ERRNO_INVAL);
    }
    table.get(fd)?;
    table.has_room()?;
    let (accepted, _) = table.get(fd)?.accept().map_err(io_errno)?;
    if fd_flags as u16 & FDFLAGS_NONBLOCK != 0 {
        accepted.set_nonblocking(true).map_err(io_errno)?;
    }
    let new_fd = table.insert(accepted)?;
    memory.write_u32(ro_fd, new_fd)
}

/// `sock_connect(fd, addr: *address, port: u32)`, TCP or UDP: under an `allow-connect`
/// list the destination must be listed (or one a listed name was looked up to).
pub fn connect(
    table: &mut SocketTable,
    memory: &GuestMemory,
    fd: u32,
    address_ptr: u32,
    port: u32,
    form: AddressForm,
) -> Result<(), Errno> {
    aligned(address_ptr, 4)?;
    let addr = read_sockaddr(memory, address_ptr, port, form)?;
    table.get(fd)?;
    if let Some(destination) = addr.as_socket() {
        table.guard.check(Direction::Connect, destination)?;
    }
    table.get(fd)?.connect(&addr).map_err(io_errno)
}

fn recv_flags(ri_flags: u32) -> Result<i32, Errno> {
    if ri_flags & !(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL) != 0 {
        return Err(ERRNO_INVAL);
    }
    let mut flags = 0;
    if ri_flags & RIFLAGS_RECV_PEEK != 0 {
        flags |= libc::MSG_PEEK;
    }
    if ri_flags & RIFLAGS_RECV_WAITALL != 0 {
        flags |= libc::MSG_WAITALL;
    }
    Ok(flags)
}

/// One `recvmsg` into guest iovecs; returns (bytes, truncated, peer).
fn recv_msg(
    memory: &mut GuestMemory,
    raw_fd: RawFd,
    iovs_ptr: u32,
    iovs_len: u32,
    flags: i32,
    want_peer: bool,
) -> Result<(usize, bool, Option<SocketAddr>), Errno> {
    let iovecs = memory.iovecs(iovs_ptr, iovs_len)?;
    let mut host_iovecs = memory.host_iovecs(&iovecs);
    let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    if want_peer {
        header.msg_name = storage.as_mut_ptr().cast();
        header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    }
    header.msg_iov = host_iovecs.as_mut_ptr();
    header.msg_iovlen = host_iovecs.len();
    // SAFETY: the iovecs point into guest memory that `memory` borrows mutably.
    let received = unsafe { libc::recvmsg(raw_fd, &mut header, flags) };
    if received < 0 {
        return Err(last_errno());
    }
    let truncated = header.msg_flags & libc::MSG_TRUNC != 0;
    let peer = if want_peer && header.msg_namelen > 0 {
        // SAFETY: zero-initialised, then filled by the kernel: always a valid value.
        sockaddr_to_std(unsafe { storage.assume_init_ref() })
    } else {
        None
    };
    Ok((received as usize, truncated, peer))
}

/// A C socket address as std's, for the two families guests can open.
pub fn sockaddr_to_std(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, which it can contain.
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(v4.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(v6.sin6_port)))
        }
        _ => None,
    }
}

/// `sock_recv(fd, ri_data: *iovec, ri_data_len, ri_flags, ro_datalen: *u32, ro_flags: *u16)`
#[allow(clippy::too_many_arguments)]
pub fn recv(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    aligned(iovs_ptr, 4)?;
    aligned(ro_datalen, 4)?;
    aligned(ro_flags, 2)?;
    let flags = recv_flags(ri_flags)?;
    memory.check(ro_datalen, 4)?;
    memory.check(ro_flags, 2)?;
    let raw_fd = table.raw_fd(fd)?;
    let (received, truncated, _) = recv_msg(memory, raw_fd, iovs_ptr, iovs_len, flags, false)?;
    memory.write_u32(ro_datalen, received as u32)?;
    memory.write_u16(
        ro_flags,
        if truncated {
            ROFLAGS_RECV_DATA_TRUNCATED
        } else {
            0
        },
    )
}

/// `sock_recv_from(fd, ri_data, ri_data_len, addr: *address, ri_flags, [port: *u16,]
/// ro_datalen: *u32, ro_flags: *u16)`: the port pointer is absent in WasmEdge's older
/// 7-parameter form.
#[allow(clippy::too_many_arguments)]
pub fn recv_from(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    address_ptr: u32,
    ri_flags: u32,
    port_ptr: Option<u32>,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    aligned(address_ptr, 4)?;
    aligned(iovs_ptr, 4)?;
    if let Some(port_ptr) = port_ptr {
        aligned(port_ptr, 2)?;
    }
    aligned(ro_datalen, 4)?;
    aligned(ro_flags, 2)?;
    let out = AddressOut::read(memory, address_ptr)?;
    // Only the 8-parameter form knows the 128-byte storage; the older one takes any
    // buffer and gets the raw IP when it fits, as in WasmEdge.
    let with_storage = port_ptr.is_some();
    if with_storage && !matches!(out.len, 4 | 16 | 128) {
        return Err(ERRNO_INVAL);
    }
    let flags = recv_flags(ri_flags)?;
    if let Some(port_ptr) = port_ptr {
        memory.check(port_ptr, 2)?;
    }
    memory.check(ro_datalen, 4)?;
    memory.check(ro_flags, 2)?;
    let raw_fd = table.raw_fd(fd)?;
    let (received, truncated, peer) = recv_msg(memory, raw_fd, iovs_ptr, iovs_len, flags, true)?;
    if let Some(peer) = peer {
        // A v6 peer into a 4-byte buffer cannot be written; WasmEdge skips it too.
        let written = if with_storage {
            out.write(memory, peer.ip())
        } else {
            out.write_raw(memory, peer.ip())
        };
        match written {
            Ok(()) | Err(ERRNO_NOMEM) => {}
            Err(other) => return Err(other),
        }
        if let Some(port_ptr) = port_ptr {
            memory.write_u16(port_ptr, peer.port())?;
        }
    }
    memory.write_u32(ro_datalen, received as u32)?;
    memory.write_u16(
        ro_flags,
        if truncated {
            ROFLAGS_RECV_DATA_TRUNCATED
        } else {
            0
        },
    )
}

/// One `sendmsg` from guest iovecs, never raising SIGPIPE.
fn send_msg(
    memory: &mut GuestMemory,
    raw_fd: RawFd,
    iovs_ptr: u32,
    iovs_len: u32,
    to: Option<&SockAddr>,
) -> Result<usize, Errno> {
    let iovecs = memory.iovecs(iovs_ptr, iovs_len)?;
    let mut host_iovecs = memory.host_iovecs(&iovecs);
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(to) = to {
        header.msg_name = to.as_ptr() as *mut libc::c_void;
        header.msg_namelen = to.len();
    }
    header.msg_iov = host_iovecs.as_mut_ptr();
    header.msg_iovlen = host_iovecs.len();
    // SAFETY: the iovecs point into guest memory that `memory` borrows.
    let sent = unsafe { libc::sendmsg(raw_fd, &header, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        return Err(last_errno());
    }
    Ok(sent as usize)
}

/// `sock_send(fd, si_data: *ciovec, si_data_len, si_flags, so_datalen: *u32)`
pub fn send(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    aligned(iovs_ptr, 4)?;
    aligned(so_datalen, 4)?;
    if si_flags != 0 {
        return Err(ERRNO_INVAL);
    }
    memory.check(so_datalen, 4)?;
    let raw_fd = table.raw_fd(fd)?;
    let sent = send_msg(memory, raw_fd, iovs_ptr, iovs_len, None)?;
    memory.write_u32(so_datalen, sent as u32)
}

/// `sock_send_to(fd, si_data, si_data_len, addr: *address, port: u32, si_flags, so_datalen: *u32)`:
/// under an `allow-connect` list the destination must be listed.
#[allow(clippy::too_many_arguments)]
pub fn send_to(
    table: &mut SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    address_ptr: u32,
    port: u32,
    si_flags: u32,
    so_datalen: u32,
    form: AddressForm,
) -> Result<(), Errno> {
    aligned(address_ptr, 4)?;
    aligned(iovs_ptr, 4)?;
    aligned(so_datalen, 4)?;
    let to = read_sockaddr(memory, address_ptr, port, form)?;
    if si_flags != 0 {
        return Err(ERRNO_INVAL);
    }
    memory.check(so_datalen, 4)?;
    let raw_fd = table.raw_fd(fd)?;
    if let Some(destination) = to.as_socket() {
        table.guard.check(Direction::Connect, destination)?;
    }
    let sent = send_msg(memory, raw_fd, iovs_ptr, iovs_len, Some(&to))?;
    memory.write_u32(so_datalen, sent as u32)
}

/// `sock_shutdown(fd, how: u8)` with `how` = RD 1 | WR 2.
///
/// Shutting down reading on a listener closes it (Linux `inet_shutdown` disconnects a
/// `TCP_LISTEN` socket to `TCP_CLOSE`), so it is no longer recorded as listening.
pub fn shutdown(table: &mut SocketTable, fd: u32, how: u32) -> Result<(), Errno> {
    let how = match how {
        SDFLAGS_RD => std::net::Shutdown::Read,
        SDFLAGS_WR => std::net::Shutdown::Write,
        h if h == SDFLAGS_RD | SDFLAGS_WR => std::net::Shutdown::Both,
        _ => return Err(ERRNO_INVAL),
    };
    let socket = table.get(fd)?;
    socket.shutdown(how).map_err(io_errno)?;
    if how != std::net::Shutdown::Write {
        let raw_fd = socket.as_raw_fd();
        table.poll_set.set_listening(raw_fd, false);
    }
    Ok(())
}

/// `sock_getlocaladdr` / `sock_getpeeraddr`: `(fd, addr: *address, addr_type: *u32,
/// port: *u32)` with a 4/16-byte buffer and `addr_type` 4 or 6, as WasmEdge's
/// compatibility form writes it; without `type_ptr`, the `_v2` form `(fd, addr, port)`
/// whose buffer must be a 128-byte storage that receives the family.
pub fn socket_address(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    address_ptr: u32,
    type_ptr: Option<u32>,
    port_ptr: u32,
    peer: bool,
) -> Result<(), Errno> {
    aligned(address_ptr, 4)?;
    if let Some(type_ptr) = type_ptr {
        aligned(type_ptr, 4)?;
    }
    aligned(port_ptr, 4)?;
    let out = AddressOut::read(memory, address_ptr)?;
    let valid_len = match type_ptr {
        Some(_) => matches!(out.len, 4 | 16),
        None => out.len == 128,
    };
    if !valid_len {
        return Err(ERRNO_INVAL);
    }
    if let Some(type_ptr) = type_ptr {
        memory.check(type_ptr, 4)?;
    }
    memory.check(port_ptr, 4)?;
    let socket = table.get(fd)?;
    let address = if peer {
        socket.peer_addr()
    } else {
        socket.local_addr()
    }
    .map_err(io_errno)?;
    let address = address.as_socket().ok_or(ERRNO_NOSYS)?;
    out.write(memory, address.ip())?;
    if let Some(type_ptr) = type_ptr {
        memory.write_u32(type_ptr, if address.is_ipv4() { 4 } else { 6 })?;
    }
    memory.write_u32(port_ptr, address.port() as u32)
}

fn sockopt_name(level: u32, name: u32) -> Result<libc::c_int, Errno> {
    if level != 0 {
        return Err(ERRNO_INVAL);
    }
    Ok(match name {
        0 => libc::SO_REUSEADDR,
        1 => libc::SO_TYPE,
        2 => libc::SO_ERROR,
        3 => libc::SO_DONTROUTE,
        4 => libc::SO_BROADCAST,
        5 => libc::SO_SNDBUF,
        6 => libc::SO_RCVBUF,
        7 => libc::SO_KEEPALIVE,
        8 => libc::SO_OOBINLINE,
        9 => libc::SO_LINGER,
        10 => libc::SO_RCVLOWAT,
        11 => libc::SO_RCVTIMEO,
        12 => libc::SO_SNDTIMEO,
        13 => libc::SO_ACCEPTCONN,
        14 => libc::SO_BINDTODEVICE,
        _ => return Err(ERRNO_INVAL),
    })
}

/// `sock_getsockopt(fd, level, name, flag: *u8, flag_size: *u32)`: `*flag_size` is the
/// buffer's length in and the value's length out.
///
/// `SO_TYPE` and `SO_ERROR` are translated to WASI's numbers (a socket type, an errno), so
/// they are read whole and the translation is cut to the buffer, as the kernel cuts any int
/// option: a stream socket's type in one byte is 2, not the host's `SOCK_STREAM` (1).
/// (WasmEdge 0.17.1 translates in place, through an int the buffer may not hold, and
/// crashes when it is shorter.)
pub fn get_option(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    level: u32,
    name: u32,
    flag_ptr: u32,
    size_ptr: u32,
) -> Result<(), Errno> {
    aligned(size_ptr, 4)?;
    let option = sockopt_name(level, name)?;
    let capacity = memory.read_u32(size_ptr)?;
    memory.check(flag_ptr, capacity)?;
    let raw_fd = table.raw_fd(fd)?;
    let translated = option == libc::SO_ERROR || option == libc::SO_TYPE;
    let mut value = vec![0u8; if translated { 4 } else { capacity as usize }];
    let mut size = value.len() as libc::socklen_t;
    // SAFETY: `value` has `size` writable bytes.
    let status = unsafe {
        libc::getsockopt(
            raw_fd,
            libc::SOL_SOCKET,
            option,
            value.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if status < 0 {
        return Err(last_errno());
    }
    let size = (size as usize).min(value.len());
    value.truncate(size);
    if translated && size == 4 {
        let raw = i32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
        let translated = if option == libc::SO_ERROR {
            errno_from_raw(raw) as i32
        } else {
            match raw {
                libc::SOCK_DGRAM => SOCK_DGRAM as i32,
                libc::SOCK_STREAM => SOCK_STREAM as i32,
                _ => SOCK_ANY as i32,
            }
        };
        value.copy_from_slice(&translated.to_le_bytes());
        value.truncate(capacity as usize);
    }
    memory.write_bytes(flag_ptr, &value)?;
    memory.write_u32(size_ptr, value.len() as u32)
}

/// `sock_setsockopt(fd, level, name, flag: *u8, flag_size: u32)`. Options pass through to
/// the host socket; under a policy `SO_BINDTODEVICE` is refused (`ACCES`): binding to a
/// host interface is a way round the addresses the policy judges.
pub fn set_option(
    table: &SocketTable,
    memory: &GuestMemory,
    fd: u32,
    level: u32,
    name: u32,
    flag_ptr: u32,
    size: u32,
) -> Result<(), Errno> {
    let option = sockopt_name(level, name)?;
    let value = memory.slice(flag_ptr, size)?;
    let raw_fd = table.raw_fd(fd)?;
    if option == libc::SO_BINDTODEVICE && table.guard.is_restrictive() {
        return Err(super::policy::REFUSED);
    }
    // SAFETY: `value` is `size` readable bytes.
    let status = unsafe {
        libc::setsockopt(
            raw_fd,
            libc::SOL_SOCKET,
            option,
            value.as_ptr().cast(),
            size as libc::socklen_t,
        )
    };
    if status < 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// A guest string argument as C wants it: cut at the first NUL; empty means "none".
fn c_string(bytes: &[u8]) -> Result<Option<CString>, Errno> {
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    CString::new(text).map(Some).map_err(|_| ERRNO_INVAL)
}

/// The results of one `getaddrinfo`, freed on drop.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from a successful getaddrinfo and is freed once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// `sock_getaddrinfo(node, node_len, service, service_len, hints: *addrinfo,
/// res: *u32, max_res_len, res_len: *u32)`; `*res` is the guest's first entry. Under a
/// policy, the addresses a lookup of a name returns are remembered for it (see
/// `policy.rs`), all of them, not only those written into the guest's entries.
#[allow(clippy::too_many_arguments)]
pub fn getaddrinfo(
    table: &mut SocketTable,
    memory: &mut GuestMemory,
    node_ptr: u32,
    node_len: u32,
    service_ptr: u32,
    service_len: u32,
    hints_ptr: u32,
    res_ptr: u32,
    max_len: u32,
    res_len_ptr: u32,
) -> Result<(), Errno> {
    aligned(hints_ptr, 4)?;
    aligned(res_ptr, 4)?;
    aligned(res_len_ptr, 4)?;
    let node = c_string(memory.slice(node_ptr, node_len)?)?;
    let service = c_string(memory.slice(service_ptr, service_len)?)?;
    memory.check(hints_ptr, 28)?;
    let first_entry = memory.read_u32(res_ptr)?;
    memory.check(res_len_ptr, 4)?;
    if node.is_none() && service.is_none() {
        return Err(ERRNO_AINONAME);
    }
    if max_len < 1 {
        return Err(ERRNO_AIMEMORY);
    }
    let hint_flags = memory.read_u16(hints_ptr)?;
    let hint_family = memory.read_u8(hints_ptr + 2)?;
    let hint_socktype = memory.read_u8(hints_ptr + 3)?;
    let hint_protocol = memory.read_u8(hints_ptr + 4)?;
    let known_flags = AI_FLAGS.iter().fold(0, |known, &(wasi, _)| known | wasi);
    if hint_flags & !known_flags != 0 || (hint_flags & AIFLAGS_CANONNAME != 0 && node.is_none()) {
        return Err(ERRNO_AIBADFLAG);
    }
    // SAFETY: addrinfo is plain data; zero is "no preference" for every field.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    for (wasi, sys) in AI_FLAGS {
        if hint_flags & wasi != 0 {
            hints.ai_flags |= sys;
        }
    }
    hints.ai_family = match hint_family {
        AF_UNSPEC => libc::AF_UNSPEC,
        AF_INET4 => libc::AF_INET,
        AF_INET6 => libc::AF_INET6,
        _ => return Err(ERRNO_AIFAMILY),
    };
    hints.ai_socktype = match hint_socktype {
        SOCK_ANY => 0,
        SOCK_DGRAM => libc::SOCK_DGRAM,
        SOCK_STREAM => libc::SOCK_STREAM,
        _ => return Err(ERRNO_NOSYS),
    };
    hints.ai_protocol = match hint_protocol {
        PROTO_IP => 0,
        PROTO_TCP => libc::IPPROTO_TCP,
        PROTO_UDP => libc::IPPROTO_UDP,
        _ => return Err(ERRNO_NOSYS),
    };

    let mut list = AddrInfoList(std::ptr::null_mut());
    // SAFETY: strings are NUL-terminated or null; `list.0` receives an owned list.
    let status = unsafe {
        libc::getaddrinfo(
            node.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            service.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut list.0,
        )
    };
    if status != 0 {
        return Err(errno_from_eai(status));
    }
    if let (true, Some(node)) = (table.guard.is_restrictive(), node.as_ref()) {
        let mut addresses = Vec::new();
        let mut item = list.0;
        while !item.is_null() {
            // SAFETY: as below, the list is alive and its entries valid.
            let info = unsafe { &*item };
            if !info.ai_addr.is_null() {
                let mut storage = MaybeUninit::<libc::sockaddr_storage>::zeroed();
                let len =
                    (info.ai_addrlen as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
                // SAFETY: ai_addr holds ai_addrlen bytes, and at most a storage's worth is
                // copied into the zeroed storage, which then holds a valid value.
                let storage = unsafe {
                    std::ptr::copy_nonoverlapping(
                        info.ai_addr.cast::<u8>(),
                        storage.as_mut_ptr().cast::<u8>(),
                        len,
                    );
                    storage.assume_init()
                };
                if let Some(address) = sockaddr_to_std(&storage) {
                    addresses.push(address.ip());
                }
            }
            item = info.ai_next;
        }
        table.guard.looked_up(&node.to_string_lossy(), &addresses);
    }

    let mut written = 0u32;
    let mut entry = first_entry;
    let mut item = list.0;
    while !item.is_null() && written < max_len {
        // SAFETY: `item` walks the list getaddrinfo returned, which `list` keeps alive.
        let info = unsafe { &*item };
        write_addrinfo(memory, entry, info)?;
        written += 1;
        item = info.ai_next;
        if !item.is_null() && written < max_len {
            entry = memory.read_u32(entry + 24)?;
        }
    }
    memory.write_u32(res_len_ptr, written)
}

/// WASI's `addrinfo` flags and the host's, pairwise.
const AI_FLAGS: [(u16, libc::c_int); 7] = [
    (AIFLAGS_PASSIVE, libc::AI_PASSIVE),
    (AIFLAGS_CANONNAME, libc::AI_CANONNAME),
    (AIFLAGS_NUMERICHOST, libc::AI_NUMERICHOST),
    (AIFLAGS_NUMERICSERV, libc::AI_NUMERICSERV),
    (AIFLAGS_V4MAPPED, libc::AI_V4MAPPED),
    (AIFLAGS_ALL, libc::AI_ALL),
    (AIFLAGS_ADDRCONFIG, libc::AI_ADDRCONFIG),
];

/// Fill one guest `addrinfo` (and the sockaddr and data it points to) from `info`.
fn write_addrinfo(
    memory: &mut GuestMemory,
    entry: u32,
    info: &libc::addrinfo,
) -> Result<(), Errno> {
    memory.check(entry, 28)?;
    let family = match info.ai_family {
        libc::AF_INET => AF_INET4,
        libc::AF_INET6 => AF_INET6,
        _ => AF_UNSPEC,
    };
    let socktype = match info.ai_socktype {
        libc::SOCK_DGRAM => SOCK_DGRAM,
        libc::SOCK_STREAM => SOCK_STREAM,
        _ => SOCK_ANY,
    };
    let protocol = match info.ai_protocol {
        libc::IPPROTO_TCP => PROTO_TCP,
        libc::IPPROTO_UDP => PROTO_UDP,
        _ => PROTO_IP,
    };
    let mut flags = 0u16;
    for (wasi, sys) in AI_FLAGS {
        if info.ai_flags & sys != 0 {
            flags |= wasi;
        }
    }
    memory.write_u16(entry, flags)?;
    memory.write_u8(entry + 2, family)?;
    memory.write_u8(entry + 3, socktype)?;
    memory.write_u8(entry + 4, protocol)?;
    memory.write_u32(entry + 8, info.ai_addrlen)?;

    let canon_ptr = memory.read_u32(entry + 16)?;
    let canon_capacity = memory.read_u32(entry + 20)?;
    let canon_len = if info.ai_canonname.is_null() {
        0
    } else {
        // SAFETY: getaddrinfo's canonical name is a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(info.ai_canonname) }.to_bytes();
        let fit = name.len().min(canon_capacity as usize);
        memory.write_bytes(canon_ptr, &name[..fit])?;
        fit as u32
    };
    memory.write_u32(entry + 20, canon_len)?;

    if info.ai_addrlen > 0 && !info.ai_addr.is_null() {
        let sockaddr_ptr = memory.read_u32(entry + 12)?;
        // Checked whole first, so the field offsets below cannot overflow.
        memory.check(sockaddr_ptr, 12)?;
        let data_ptr = memory.read_u32(sockaddr_ptr + 8)?;
        // The C sockaddr from its port on: 14 bytes for v4, 26 for v6, as WasmEdge copies.
        let (data_len, sa_family) = match info.ai_family {
            libc::AF_INET => (std::mem::size_of::<libc::sockaddr_in>() - 2, AF_INET4),
            libc::AF_INET6 => (std::mem::size_of::<libc::sockaddr_in6>() - 2, AF_INET6),
            _ => return Ok(()),
        };
        if (info.ai_addrlen as usize) < data_len + 2 {
            return Err(ERRNO_INVAL);
        }
        // SAFETY: ai_addr holds ai_addrlen bytes, checked just above to cover data_len + 2.
        let raw =
            unsafe { std::slice::from_raw_parts((info.ai_addr as *const u8).add(2), data_len) };
        memory.write_u8(sockaddr_ptr, sa_family)?;
        memory.write_u32(sockaddr_ptr + 4, data_len as u32)?;
        memory.write_bytes(data_ptr, raw)?;
    }
    Ok(())
}

/// `fd_fdstat_get` for a socket: filetype, `NONBLOCK`, and every right.
pub fn fdstat(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    stat_ptr: u32,
) -> Result<(), Errno> {
    memory.check(stat_ptr, 24)?;
    let socket = table.get(fd)?;
    let filetype = match socket.r#type().map_err(io_errno)? {
        Type::DGRAM => FILETYPE_SOCKET_DGRAM,
        _ => FILETYPE_SOCKET_STREAM,
    };
    // SAFETY: F_GETFL on an fd we own.
    let status_flags = unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_GETFL) };
    if status_flags < 0 {
        return Err(last_errno());
    }
    let flags = if status_flags & libc::O_NONBLOCK != 0 {
        FDFLAGS_NONBLOCK
    } else {
        0
    };
    // All 29 preview1 rights: sockets carry no capability restrictions in WasmEdge.
    let rights: u64 = (1 << 29) - 1;
    memory.write_bytes(stat_ptr, &[0u8; 24])?;
    memory.write_u8(stat_ptr, filetype)?;
    memory.write_u16(stat_ptr + 2, flags)?;
    memory.write_u64(stat_ptr + 8, rights)?;
    memory.write_u64(stat_ptr + 16, rights)
}

/// `fd_fdstat_set_flags` for a socket: only `NONBLOCK` means anything here.
pub fn set_fdflags(table: &SocketTable, fd: u32, flags: u32) -> Result<(), Errno> {
    let known = FDFLAGS_APPEND | FDFLAGS_DSYNC | FDFLAGS_NONBLOCK | FDFLAGS_RSYNC | FDFLAGS_SYNC;
    if flags & !(known as u32) != 0 {
        return Err(ERRNO_INVAL);
    }
    table
        .get(fd)?
        .set_nonblocking(flags as u16 & FDFLAGS_NONBLOCK != 0)
        .map_err(io_errno)
}

/// `fd_read` on a socket: a plain receive.
pub fn fd_read(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    nread_ptr: u32,
) -> Result<(), Errno> {
    memory.check(nread_ptr, 4)?;
    let raw_fd = table.raw_fd(fd)?;
    let (received, _, _) = recv_msg(memory, raw_fd, iovs_ptr, iovs_len, 0, false)?;
    memory.write_u32(nread_ptr, received as u32)
}

/// `fd_write` on a socket: a plain send, without SIGPIPE on a closed peer.
pub fn fd_write(
    table: &SocketTable,
    memory: &mut GuestMemory,
    fd: u32,
    iovs_ptr: u32,
    iovs_len: u32,
    nwritten_ptr: u32,
) -> Result<(), Errno> {
    memory.check(nwritten_ptr, 4)?;
    let raw_fd = table.raw_fd(fd)?;
    let sent = send_msg(memory, raw_fd, iovs_ptr, iovs_len, None)?;
    memory.write_u32(nwritten_ptr, sent as u32)
}
