//! Our own bindings of the WasmEdge socket imports through which the runtime writes a socket
//! address into guest memory: `sock_getlocaladdr`, `sock_getpeeraddr` and `sock_recv_from`.
//!
//! `wasmedge_wasi_socket` 0.5 hands the runtime these out-buffers through immutable
//! bindings (`let addr_buf = [0u8; 16]` behind a `*const u8`). The compiler may then
//! assume the buffer still holds zeros after the call, and release builds do: the IP reads
//! back as `0.0.0.0` (the port, passed through a `&mut`, stays right). Here every buffer the
//! runtime fills is a `let mut` local reached only through pointers made from `&mut`, so the
//! compiler must expect the write. Every other import `wasock` reaches through the crate was
//! checked for the same pattern and writes only through `&mut`-derived pointers (see
//! ARCHITECTURE.md, "Socket addresses on WasmEdge").
//!
//! Memory layouts, as WasmEdge 0.17.1 (`lib/host/wasi/wasifunc.cpp`) and the crate use them:
//! - an address is an 8-byte `{ buf: *mut u8, buf_len: u32 }`;
//! - `sock_getlocaladdr`/`sock_getpeeraddr(fd, addr, addr_type: *u32, port: *u32)` write the
//!   raw IP (4 or 16 bytes) into a 16-byte buffer, `4` or `6` into `addr_type` and the port
//!   in host order into `port`;
//! - `sock_recv_from(fd, iovs, iovs_len, addr, ri_flags, port: *u32, ro_datalen: *u32,
//!   ro_flags: *u16)` wants a 128-byte address storage: a little-endian `u16` family
//!   (1 = IPv4, 2 = IPv6) at offset 0 and the IP from offset 2; the sender's port goes to
//!   `port` (the runtime writes 16 bits, so it is zeroed first).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::RawFd;

/// WasmEdge's address struct: a buffer and its length in bytes.
#[repr(C)]
struct WasiAddress {
    buf: *mut u8,
    buf_len: u32,
}

/// One receive buffer, laid out as WASI's `iovec`.
#[repr(C)]
struct IoVec {
    buf: *mut u8,
    buf_len: u32,
}

mod imports {
    use super::{IoVec, WasiAddress};

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        pub fn sock_getlocaladdr(
            fd: u32,
            addr: *mut WasiAddress,
            addr_type: *mut u32,
            port: *mut u32,
        ) -> u32;
        pub fn sock_getpeeraddr(
            fd: u32,
            addr: *mut WasiAddress,
            addr_type: *mut u32,
            port: *mut u32,
        ) -> u32;
        // The same 8-parameter signature as `wasmedge_wasi_socket` declares, so a module
        // that links both imports one function type.
        pub fn sock_recv_from(
            fd: u32,
            iovs: *mut IoVec,
            iovs_len: u32,
            addr: *mut u8,
            ri_flags: u16,
            port: *mut u32,
            ro_datalen: *mut usize,
            ro_flags: *mut usize,
        ) -> u32;
    }
}

/// Address families as WasmEdge writes them into an address storage.
const FAMILY_INET4: u16 = 1;
const FAMILY_INET6: u16 = 2;
/// Bytes of the address storage `sock_recv_from` fills.
const STORAGE_LEN: usize = 128;

fn check(errno: u32) -> io::Result<()> {
    match errno {
        0 => Ok(()),
        code => Err(io::Error::from_raw_os_error(code as i32)),
    }
}

fn unknown_family(what: &str, family: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the runtime reported {what} of unknown address family {family}"),
    )
}

/// The socket's own address (`sock_getlocaladdr`).
pub(crate) fn local_addr(fd: RawFd) -> io::Result<SocketAddr> {
    socket_address(fd, imports::sock_getlocaladdr)
}

/// The connected peer's address (`sock_getpeeraddr`).
pub(crate) fn peer_addr(fd: RawFd) -> io::Result<SocketAddr> {
    socket_address(fd, imports::sock_getpeeraddr)
}

type AddressImport = unsafe extern "C" fn(u32, *mut WasiAddress, *mut u32, *mut u32) -> u32;

fn socket_address(fd: RawFd, import: AddressImport) -> io::Result<SocketAddr> {
    let mut ip = [0u8; 16];
    let mut address = WasiAddress {
        buf: ip.as_mut_ptr(),
        buf_len: ip.len() as u32,
    };
    let mut addr_type = 0u32;
    let mut port = 0u32;
    // SAFETY: every pointer is to a live local of the size the import writes.
    check(unsafe { import(fd as u32, &mut address, &mut addr_type, &mut port) })?;
    let port = port as u16;
    match addr_type {
        4 => Ok(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
            port,
        )),
        6 => Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
        other => Err(unknown_family("an address", other)),
    }
}

/// Receives one datagram into `buf`: the bytes received and the sender (`sock_recv_from`).
pub(crate) fn recv_from(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let mut storage = [0u8; STORAGE_LEN];
    let mut address = WasiAddress {
        buf: storage.as_mut_ptr(),
        buf_len: STORAGE_LEN as u32,
    };
    let mut iov = IoVec {
        buf: buf.as_mut_ptr(),
        buf_len: u32::try_from(buf.len()).unwrap_or(u32::MAX),
    };
    let mut port = 0u32;
    let mut received = 0usize;
    let mut ro_flags = 0usize;
    // SAFETY: `iov` describes `buf`; the other pointers are to live locals at least as
    // large as what the import writes (ro_flags is 16 bits, port 16 or 32).
    check(unsafe {
        imports::sock_recv_from(
            fd as u32,
            &mut iov,
            1,
            (&mut address as *mut WasiAddress).cast(),
            0,
            &mut port,
            &mut received,
            &mut ro_flags,
        )
    })?;
    let port = port as u16;
    let family = u16::from_le_bytes([storage[0], storage[1]]);
    let sender = match family {
        FAMILY_INET4 => SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(
                storage[2], storage[3], storage[4], storage[5],
            )),
            port,
        ),
        FAMILY_INET6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&storage[2..18]);
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port)
        }
        other => return Err(unknown_family("a sender", u32::from(other))),
    };
    Ok((received.min(buf.len()), sender))
}
