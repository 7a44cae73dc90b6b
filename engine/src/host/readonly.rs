//! Writes into a read-only preopened directory answer `NOTCAPABLE`, as on WasmEdge 0.17.1.
//!
//! WasmEdge's preview1 keeps the WASI preview1 rights model: a read-only `--dir` has no
//! write rights (nor do the descriptors opened through it), and a call that needs one
//! fails with `NOTCAPABLE` (76) before the filesystem is asked. wasmtime-wasi's preview1
//! has no rights; its `FsPerms::ReadOnly` refuses the same calls with `PERM` (63), also
//! before the filesystem is asked. So the shadows here call preview1's original and, when
//! it says `PERM`, ask whether a directory the call writes into is read-only; only then
//! is the answer `NOTCAPABLE`. A `PERM` from the host itself (Linux refuses a hard link to
//! a directory, or to unlink an immutable file) in a read-write directory stays `PERM`,
//! as on WasmEdge.
//!
//! Whether a directory is read-only: preview1's `path_create_directory(fd, "")`. wasmtime-wasi
//! checks the permission first and answers `PERM` for a read-only directory; in a
//! read-write one it goes on to make a directory with an empty name, which fails without
//! creating anything (`writes_into_readonly_dirs_answer_as_on_wasmedge` checks the
//! directory after). A descriptor that is no directory answers `NOTDIR`.
//!
//! Left as they were: the write calls on a *file* opened for reading only, which is how a
//! read-only directory opens one (`fd_write`, `fd_pwrite`, `fd_allocate`,
//! `fd_filestat_set_size`, `fd_filestat_set_times`), answer `NOTCAPABLE` on WasmEdge, which
//! checks the rights the file was opened with in any directory, and `BADF`, `NOTSUP`,
//! `INVAL` or `PERM` on the engine; telling wasmtime-wasi's refusal apart from the host's
//! `EPERM` there would need the file's permissions, which wasmtime-wasi does not show
//! (ARCHITECTURE.md, "Deliberate differences").

use std::sync::{Arc, OnceLock};

use wasmtime::{Caller, Instance, Linker, WasmParams};

use super::super::abi::{ERRNO_NOTCAPABLE, ERRNO_PERM};
use super::super::state::{guest_memory, HostState};
use super::{trampolines_module, GUEST_ALIAS, WASI};

/// WASI preview1's `oflags::creat`, `oflags::trunc` and `rights::fd_write`.
const OFLAGS_CREAT: i32 = 1 << 0;
const OFLAGS_TRUNC: i32 = 1 << 3;
const RIGHTS_FD_WRITE: u64 = 1 << 6;

/// What the shadows share: preview1 as linked (to instantiate the trampolines,
/// `preview1_trampolines.wat`, against) and their instance, made when a guest first calls
/// one of the shadows. One per linker, and the linker `host::link` builds serves one store.
struct Shared {
    preview1: Linker<HostState>,
    instance: OnceLock<Instance>,
}

impl Shared {
    fn trampolines(&self, caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Instance> {
        if let Some(instance) = self.instance.get() {
            return Ok(*instance);
        }
        let memory = guest_memory(caller).map_err(|_| {
            wasmtime::format_err!("preview1 is not reachable: the guest exports no memory")
        })?;
        let module = trampolines_module(caller.engine())?;
        let mut linker = self.preview1.clone();
        linker.define(&*caller, GUEST_ALIAS, "memory", memory)?;
        let instance = linker.instantiate(&mut *caller, &module)?;
        Ok(*self.instance.get_or_init(|| instance))
    }

    /// Call preview1's `name` with `args`; a `PERM` becomes `NOTCAPABLE` when one of
    /// `dirs` is a read-only directory (the module's doc says why that is the rule).
    fn call<P: WasmParams>(
        &self,
        caller: &mut Caller<'_, HostState>,
        name: &str,
        args: P,
        dirs: &[i32],
    ) -> wasmtime::Result<i32> {
        let instance = self.trampolines(caller)?;
        let original = instance.get_typed_func::<P, i32>(&mut *caller, name)?;
        let status = original.call(&mut *caller, args)?;
        if status != i32::from(ERRNO_PERM) {
            return Ok(status);
        }
        let mkdir = instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut *caller, "path_create_directory")?;
        for &dir in dirs {
            // An empty path, read from offset 0: nothing of the guest's is read or written.
            if mkdir.call(&mut *caller, (dir, 0, 0))? == i32::from(ERRNO_PERM) {
                return Ok(i32::from(ERRNO_NOTCAPABLE));
            }
        }
        Ok(status)
    }
}

/// Shadow preview1's calls that write through a directory descriptor (WASI preview1's
/// `path_open` for writing or creating, `path_create_directory`, `path_unlink_file`,
/// `path_remove_directory`, `path_rename`, `path_symlink`, `path_link`,
/// `path_filestat_set_times`, and `fd_filestat_set_times` on a directory) so that a read-only
/// directory refuses them with `NOTCAPABLE`, as WasmEdge 0.17.1 does. `linker` already has
/// preview1 under `host::PREVIEW1_ALIAS`, and allows shadowing.
pub(super) fn define(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        preview1: linker.clone(),
        instance: OnceLock::new(),
    });
    let s = shared.clone();
    linker.func_wrap(
        WASI,
        "path_open",
        move |mut caller: Caller<'_, HostState>,
              dir: i32,
              dirflags: i32,
              path: i32,
              path_len: i32,
              oflags: i32,
              rights_base: i64,
              rights_inheriting: i64,
              fdflags: i32,
              opened: i32| {
            let args = (
                dir,
                dirflags,
                path,
                path_len,
                oflags,
                rights_base,
                rights_inheriting,
                fdflags,
                opened,
            );
            // wasmtime-wasi refuses an open in a read-only directory only when it would
            // create, truncate or write; any other `PERM` is the host's own.
            let writes = oflags & (OFLAGS_CREAT | OFLAGS_TRUNC) != 0
                || rights_base as u64 & RIGHTS_FD_WRITE != 0;
            let dirs: &[i32] = if writes { &[dir] } else { &[] };
            s.call(&mut caller, "path_open", args, dirs)
        },
    )?;
    for name in [
        "path_create_directory",
        "path_unlink_file",
        "path_remove_directory",
    ] {
        let s = shared.clone();
        linker.func_wrap(
            WASI,
            name,
            move |mut caller: Caller<'_, HostState>, dir: i32, path: i32, path_len: i32| {
                s.call(&mut caller, name, (dir, path, path_len), &[dir])
            },
        )?;
    }
    let s = shared.clone();
    linker.func_wrap(
        WASI,
        "path_rename",
        move |mut caller: Caller<'_, HostState>,
              old_dir: i32,
              old_path: i32,
              old_len: i32,
              new_dir: i32,
              new_path: i32,
              new_len: i32| {
            let args = (old_dir, old_path, old_len, new_dir, new_path, new_len);
            s.call(&mut caller, "path_rename", args, &[old_dir, new_dir])
        },
    )?;
    let s = shared.clone();
    linker.func_wrap(
        WASI,
        "path_symlink",
        move |mut caller: Caller<'_, HostState>,
              target: i32,
              target_len: i32,
              dir: i32,
              path: i32,
              path_len: i32| {
            let args = (target, target_len, dir, path, path_len);
            s.call(&mut caller, "path_symlink", args, &[dir])
        },
    )?;
    let s = shared.clone();
    linker.func_wrap(
        WASI,
        "path_link",
        move |mut caller: Caller<'_, HostState>,
              old_dir: i32,
              old_flags: i32,
              old_path: i32,
              old_len: i32,
              new_dir: i32,
              new_path: i32,
              new_len: i32| {
            let args = (
                old_dir, old_flags, old_path, old_len, new_dir, new_path, new_len,
            );
            s.call(&mut caller, "path_link", args, &[old_dir, new_dir])
        },
    )?;
    let s = shared.clone();
    linker.func_wrap(
        WASI,
        "path_filestat_set_times",
        move |mut caller: Caller<'_, HostState>,
              dir: i32,
              flags: i32,
              path: i32,
              path_len: i32,
              atim: i64,
              mtim: i64,
              fst_flags: i32| {
            let args = (dir, flags, path, path_len, atim, mtim, fst_flags);
            s.call(&mut caller, "path_filestat_set_times", args, &[dir])
        },
    )?;
    let s = shared;
    linker.func_wrap(
        WASI,
        "fd_filestat_set_times",
        move |mut caller: Caller<'_, HostState>, fd: i32, atim: i64, mtim: i64, fst_flags: i32| {
            s.call(
                &mut caller,
                "fd_filestat_set_times",
                (fd, atim, mtim, fst_flags),
                &[fd],
            )
        },
    )?;
    Ok(())
}
