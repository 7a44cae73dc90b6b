//! The guest-facing ABI: WASI/WasmEdge constants, errno translation and bounds-checked
//! access to guest memory.
//!
//! Every pointer a guest hands us goes through [`GuestMemory`], which answers `FAULT`
//! instead of panicking when it points outside linear memory. That is what keeps a
//! misbehaving guest from taking the host down.

use std::io;

/// A WASI errno as the guest sees it (wasi-libc uses the same numbers for `errno`).
pub type Errno = u16;

pub const ERRNO_SUCCESS: Errno = 0;
pub const ERRNO_ACCES: Errno = 2;
pub const ERRNO_ADDRNOTAVAIL: Errno = 4;
pub const ERRNO_AFNOSUPPORT: Errno = 5;
pub const ERRNO_AGAIN: Errno = 6;
pub const ERRNO_BADF: Errno = 8;
pub const ERRNO_FAULT: Errno = 21;
pub const ERRNO_INVAL: Errno = 28;
pub const ERRNO_IO: Errno = 29;
pub const ERRNO_MFILE: Errno = 33;
pub const ERRNO_NOMEM: Errno = 48;
pub const ERRNO_NOSYS: Errno = 52;
pub const ERRNO_NOTSOCK: Errno = 57;
pub const ERRNO_PERM: Errno = 63;
pub const ERRNO_NOTCAPABLE: Errno = 76;

// WasmEdge's extension of the errno enum for getaddrinfo failures (`EAI_*`), returned
// only by `sock_getaddrinfo`, as WasmEdge 0.17.1 returns them. They lie beyond preview1's
// errnos, so a guest's libc has no message for them (Rust's std prints "Success (os error
// 84)"); the `wasock` library turns them into the message a native lookup gives.
pub const ERRNO_AIADDRFAMILY: Errno = 77;
pub const ERRNO_AIAGAIN: Errno = 78;
pub const ERRNO_AIBADFLAG: Errno = 79;
pub const ERRNO_AIFAIL: Errno = 80;
pub const ERRNO_AIFAMILY: Errno = 81;
pub const ERRNO_AIMEMORY: Errno = 82;
pub const ERRNO_AINODATA: Errno = 83;
pub const ERRNO_AINONAME: Errno = 84;
pub const ERRNO_AISERVICE: Errno = 85;
pub const ERRNO_AISOCKTYPE: Errno = 86;
pub const ERRNO_AISYSTEM: Errno = 87;

// `address_family` and `sock_type` as WasmEdge numbers them.
pub const AF_UNSPEC: u8 = 0;
pub const AF_INET4: u8 = 1;
pub const AF_INET6: u8 = 2;
pub const AF_UNIX: u8 = 3;
pub const SOCK_ANY: u8 = 0;
pub const SOCK_DGRAM: u8 = 1;
pub const SOCK_STREAM: u8 = 2;

pub const PROTO_IP: u8 = 0;
pub const PROTO_TCP: u8 = 1;
pub const PROTO_UDP: u8 = 2;

pub const RIFLAGS_RECV_PEEK: u32 = 1;
pub const RIFLAGS_RECV_WAITALL: u32 = 2;
pub const ROFLAGS_RECV_DATA_TRUNCATED: u16 = 1;
pub const SDFLAGS_RD: u32 = 1;
pub const SDFLAGS_WR: u32 = 2;

pub const FDFLAGS_APPEND: u16 = 1;
pub const FDFLAGS_DSYNC: u16 = 2;
pub const FDFLAGS_NONBLOCK: u16 = 4;
pub const FDFLAGS_RSYNC: u16 = 8;
pub const FDFLAGS_SYNC: u16 = 16;

pub const FILETYPE_SOCKET_DGRAM: u8 = 5;
pub const FILETYPE_SOCKET_STREAM: u8 = 6;

pub const EVENTTYPE_CLOCK: u8 = 0;
pub const EVENTTYPE_FD_READ: u8 = 1;
pub const EVENTTYPE_FD_WRITE: u8 = 2;
pub const EVENTRWFLAGS_HANGUP: u16 = 1;
pub const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

pub const CLOCKID_REALTIME: u32 = 0;
pub const CLOCKID_MONOTONIC: u32 = 1;

/// `ai_flags` bits of WasmEdge's `__wasi_aiflags_t`.
pub const AIFLAGS_PASSIVE: u16 = 1 << 0;
pub const AIFLAGS_CANONNAME: u16 = 1 << 1;
pub const AIFLAGS_NUMERICHOST: u16 = 1 << 2;
pub const AIFLAGS_NUMERICSERV: u16 = 1 << 3;
pub const AIFLAGS_V4MAPPED: u16 = 1 << 4;
pub const AIFLAGS_ALL: u16 = 1 << 5;
pub const AIFLAGS_ADDRCONFIG: u16 = 1 << 6;

/// The most iovecs one call may pass, as in WasmEdge (`kIOVMax`).
pub const IOV_MAX: u32 = 1024;

/// Every host `errno` that has a WASI counterpart, with that WASI number: all of
/// preview1's errnos but `NOTCAPABLE` (76), which no host call produces. The same
/// table as WasmEdge 0.17.1's `fromErrNo` (`lib/host/wasi/linux.h`), so a guest sees the
/// number it would see on WasmEdge, and the guest's libc gives it the message and std
/// the `io::ErrorKind` a native build gives the host errno.
const HOST_ERRNOS: [(libc::c_int, Errno); 75] = [
    (libc::E2BIG, 1),
    (libc::EACCES, 2),
    (libc::EADDRINUSE, 3),
    (libc::EADDRNOTAVAIL, 4),
    (libc::EAFNOSUPPORT, 5),
    (libc::EAGAIN, 6),
    (libc::EALREADY, 7),
    (libc::EBADF, 8),
    (libc::EBADMSG, 9),
    (libc::EBUSY, 10),
    (libc::ECANCELED, 11),
    (libc::ECHILD, 12),
    (libc::ECONNABORTED, 13),
    (libc::ECONNREFUSED, 14),
    (libc::ECONNRESET, 15),
    (libc::EDEADLK, 16),
    (libc::EDESTADDRREQ, 17),
    (libc::EDOM, 18),
    (libc::EDQUOT, 19),
    (libc::EEXIST, 20),
    (libc::EFAULT, 21),
    (libc::EFBIG, 22),
    (libc::EHOSTUNREACH, 23),
    (libc::EIDRM, 24),
    (libc::EILSEQ, 25),
    (libc::EINPROGRESS, 26),
    (libc::EINTR, 27),
    (libc::EINVAL, 28),
    (libc::EIO, 29),
    (libc::EISCONN, 30),
    (libc::EISDIR, 31),
    (libc::ELOOP, 32),
    (libc::EMFILE, 33),
    (libc::EMLINK, 34),
    (libc::EMSGSIZE, 35),
    (libc::EMULTIHOP, 36),
    (libc::ENAMETOOLONG, 37),
    (libc::ENETDOWN, 38),
    (libc::ENETRESET, 39),
    (libc::ENETUNREACH, 40),
    (libc::ENFILE, 41),
    (libc::ENOBUFS, 42),
    (libc::ENODEV, 43),
    (libc::ENOENT, 44),
    (libc::ENOEXEC, 45),
    (libc::ENOLCK, 46),
    (libc::ENOLINK, 47),
    (libc::ENOMEM, 48),
    (libc::ENOMSG, 49),
    (libc::ENOPROTOOPT, 50),
    (libc::ENOSPC, 51),
    (libc::ENOSYS, 52),
    (libc::ENOTCONN, 53),
    (libc::ENOTDIR, 54),
    (libc::ENOTEMPTY, 55),
    (libc::ENOTRECOVERABLE, 56),
    (libc::ENOTSOCK, 57),
    // EOPNOTSUPP is the same number on Linux.
    (libc::ENOTSUP, 58),
    (libc::ENOTTY, 59),
    (libc::ENXIO, 60),
    (libc::EOVERFLOW, 61),
    (libc::EOWNERDEAD, 62),
    (libc::EPERM, 63),
    (libc::EPIPE, 64),
    (libc::EPROTO, 65),
    (libc::EPROTONOSUPPORT, 66),
    (libc::EPROTOTYPE, 67),
    (libc::ERANGE, 68),
    (libc::EROFS, 69),
    (libc::ESPIPE, 70),
    (libc::ESRCH, 71),
    (libc::ESTALE, 72),
    (libc::ETIMEDOUT, 73),
    (libc::ETXTBSY, 74),
    (libc::EXDEV, 75),
];

/// Translate a host `errno` into the WASI number the guest expects (0 stays 0, for
/// `SO_ERROR`). A host errno WASI has no number for (`EHOSTDOWN`, `ESHUTDOWN`, ...)
/// becomes `IO`; WasmEdge 0.17.1 has no defined answer for those.
pub fn errno_from_raw(raw: i32) -> Errno {
    if raw == 0 {
        return ERRNO_SUCCESS;
    }
    HOST_ERRNOS
        .iter()
        .find(|(host, _)| *host == raw)
        .map_or(ERRNO_IO, |&(_, wasi)| wasi)
}

/// The errno for a failed host call: never `SUCCESS`, which would tell the guest the
/// call worked (an error without an OS code, or with code 0, is `IO`).
pub fn errno_from_io(err: &io::Error) -> Errno {
    match err.raw_os_error() {
        Some(raw) if raw != 0 => errno_from_raw(raw),
        _ if err.kind() == io::ErrorKind::WouldBlock => ERRNO_AGAIN,
        _ => ERRNO_IO,
    }
}

/// glibc's `EAI_ADDRFAMILY`, which the libc crate does not export.
const GLIBC_EAI_ADDRFAMILY: i32 = -9;

/// Translate a `getaddrinfo` return code into WasmEdge's `AI*` errno.
pub fn errno_from_eai(code: i32) -> Errno {
    match code {
        GLIBC_EAI_ADDRFAMILY => ERRNO_AIADDRFAMILY,
        libc::EAI_AGAIN => ERRNO_AIAGAIN,
        libc::EAI_BADFLAGS => ERRNO_AIBADFLAG,
        libc::EAI_FAIL => ERRNO_AIFAIL,
        libc::EAI_FAMILY => ERRNO_AIFAMILY,
        libc::EAI_MEMORY => ERRNO_AIMEMORY,
        libc::EAI_NODATA => ERRNO_AINODATA,
        libc::EAI_NONAME => ERRNO_AINONAME,
        libc::EAI_SERVICE => ERRNO_AISERVICE,
        libc::EAI_SOCKTYPE => ERRNO_AISOCKTYPE,
        // WasmEdge 0.17.1 (`fromEAIErrNo` in lib/host/wasi/linux.h) says AISYSTEM here
        // rather than passing `errno` on, and so do we.
        _ => ERRNO_AISYSTEM,
    }
}

/// Each pointer a guest passes must be aligned for what it points to: WasmEdge 0.17.1
/// refuses one that is not with `ADDRNOTAVAIL`, before it looks at anything else (its
/// `isMisaligned` checks), and so do the functions the engine implements itself. `align`
/// is the C alignment of the pointee: 8 for a subscription, an event or an fdstat, 4 for
/// an iovec, an address struct, an `addrinfo`, a size or an fd, 2 for a `u16`.
pub fn aligned(ptr: u32, align: u32) -> Result<(), Errno> {
    if ptr % align == 0 {
        Ok(())
    } else {
        Err(ERRNO_ADDRNOTAVAIL)
    }
}

/// Bounds-checked little-endian view of a guest's linear memory.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(ERRNO_FAULT)?;
        if end > self.bytes.len() {
            return Err(ERRNO_FAULT);
        }
        Ok(start..end)
    }

    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// Check that `len` bytes at `ptr` are inside memory without borrowing them.
    pub fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        self.range(ptr, len).map(|_| ())
    }

    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    pub fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.array::<1>(ptr)?[0])
    }
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    pub fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| ERRNO_FAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }
    pub fn write_u8(&mut self, ptr: u32, value: u8) -> Result<(), Errno> {
        self.write_bytes(ptr, &[value])
    }
    pub fn write_u16(&mut self, ptr: u32, value: u16) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// The `(buf, len)` pairs of a guest iovec array, each checked against memory.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        if count > IOV_MAX {
            return Err(ERRNO_INVAL);
        }
        self.check(ptr, count.checked_mul(8).ok_or(ERRNO_FAULT)?)?;
        let mut out = Vec::with_capacity(count as usize);
        for index in 0..count {
            let entry = ptr + index * 8;
            let buf = self.read_u32(entry)?;
            let len = self.read_u32(entry + 4)?;
            self.check(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }

    /// Raw host pointers for `iovecs`, for one `recvmsg`/`sendmsg` call. The pointers
    /// stay valid while `self` is borrowed, because nothing can grow memory meanwhile.
    pub fn host_iovecs(&mut self, iovecs: &[(u32, u32)]) -> Vec<libc::iovec> {
        let base = self.bytes.as_mut_ptr();
        iovecs
            .iter()
            .map(|&(buf, len)| libc::iovec {
                // In bounds: every pair was checked by `iovecs`.
                iov_base: unsafe { base.add(buf as usize) }.cast(),
                iov_len: len as usize,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_access_is_a_fault_not_a_panic() {
        let mut bytes = vec![0u8; 16];
        let mut memory = GuestMemory::new(&mut bytes);
        assert_eq!(memory.read_u32(13), Err(ERRNO_FAULT));
        assert_eq!(memory.read_u32(u32::MAX), Err(ERRNO_FAULT));
        assert_eq!(memory.write_u64(9, 1), Err(ERRNO_FAULT));
        assert_eq!(memory.slice(u32::MAX, 2).err(), Some(ERRNO_FAULT));
        assert!(memory.write_u32(12, 0xdead_beef).is_ok());
        assert_eq!(memory.read_u32(12), Ok(0xdead_beef));
    }

    #[test]
    fn iovec_lists_are_checked_entry_by_entry() {
        let mut bytes = vec![0u8; 64];
        let mut memory = GuestMemory::new(&mut bytes);
        memory.write_u32(0, 32).unwrap();
        memory.write_u32(4, 8).unwrap();
        memory.write_u32(8, 60).unwrap();
        memory.write_u32(12, 8).unwrap();
        assert_eq!(memory.iovecs(0, 1), Ok(vec![(32, 8)]));
        assert_eq!(memory.iovecs(0, 2), Err(ERRNO_FAULT));
        assert_eq!(memory.iovecs(0, IOV_MAX + 1), Err(ERRNO_INVAL));
    }

    #[test]
    fn every_wasi_errno_a_host_call_can_produce_has_its_host_errno() {
        let mut numbers: Vec<Errno> = HOST_ERRNOS.iter().map(|&(_, wasi)| wasi).collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=75).collect::<Vec<Errno>>(),
            "each of 1..=75 once"
        );
        for (host, wasi) in HOST_ERRNOS {
            assert_eq!(errno_from_raw(host), wasi, "host errno {host}");
        }
        // Spot checks against preview1's names (witx `errno`), not against the table.
        assert_eq!(errno_from_raw(libc::ENOTSOCK), ERRNO_NOTSOCK);
        assert_eq!(errno_from_raw(libc::EOPNOTSUPP), 58);
        assert_eq!(errno_from_raw(libc::EPROTO), 65);
        assert_eq!(errno_from_raw(libc::ENOSPC), 51);
        assert_eq!(errno_from_raw(libc::EHOSTDOWN), ERRNO_IO);
    }

    #[test]
    fn getaddrinfo_codes_map_as_in_wasmedge() {
        assert_eq!(errno_from_eai(libc::EAI_NONAME), ERRNO_AINONAME);
        assert_eq!(errno_from_eai(libc::EAI_AGAIN), ERRNO_AIAGAIN);
        assert_eq!(errno_from_eai(libc::EAI_SYSTEM), ERRNO_AISYSTEM);
    }

    #[test]
    fn a_failed_call_never_reads_as_success() {
        assert_eq!(errno_from_io(&io::Error::from_raw_os_error(0)), ERRNO_IO);
        assert_eq!(errno_from_io(&io::Error::other("no os code")), ERRNO_IO);
    }

    #[test]
    fn host_errors_map_to_wasi_numbers() {
        assert_eq!(errno_from_raw(libc::EAGAIN), ERRNO_AGAIN);
        assert_eq!(errno_from_raw(libc::ECONNREFUSED), 14);
        assert_eq!(
            errno_from_io(&io::Error::from(io::ErrorKind::WouldBlock)),
            ERRNO_AGAIN
        );
    }
}
