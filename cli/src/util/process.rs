//! Child processes the CLI starts (cargo, `wasmedge compile`, the app): tied to the CLI's
//! lifetime so none outlives it.

use std::process::Command;

#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt as _;

/// Have the kernel end the child if we die first (Linux), so no build, compile or app
/// outlives the CLI even when it is killed with SIGKILL.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl and getppid only set and read flags of the forked child; nothing
        // else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGTERM as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // Had we died between fork and prctl, the signal would never come: the
                // child already belongs to someone else, so it must not start at all.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// A pipe, both ends close-on-exec: its read end, and its write end (for [`pass_fd`]).
/// (`std::io::pipe` is newer than the workspace's `rust-version`.)
#[cfg(unix)]
pub fn pipe() -> std::io::Result<(std::fs::File, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd as _;
    let mut fds = [0 as libc::c_int; 2];
    // Atomically close-on-exec on Linux, so a child another thread forks meanwhile gets
    // neither end (it would hold the reader's end-of-file back).
    // SAFETY: pipe2(2)/pipe(2) write two descriptors into the array we own.
    #[cfg(target_os = "linux")]
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    #[cfg(not(target_os = "linux"))]
    let made = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if made == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and ours alone; each is owned once from here on.
    let (reader, writer) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    for fd in fds {
        // SAFETY: F_SETFD on a descriptor owned above.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok((reader, writer))
}

/// Hand `fd` to the child as the same descriptor number (it is opened close-on-exec, as Rust
/// opens everything; the child's copy is made inheritable between fork and exec). The parent's
/// copy lives in `command` and closes when `command` is dropped, so drop it after spawning:
/// a reader then sees end-of-file when the child ends. The descriptor number, for the child.
#[cfg(unix)]
pub fn pass_fd(command: &mut Command, fd: std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::process::CommandExt as _;
    let number = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor the closure owns; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    number
}

/// The descriptor `fd` that a parent passed with [`pass_fd`], as a file; made close-on-exec
/// again. Errors when it is not open, or is stdin, stdout or stderr.
#[cfg(unix)]
pub fn inherited_fd(fd: i32) -> anyhow::Result<std::fs::File> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: F_GETFD/F_SETFD only read and set the descriptor's flags.
    let open = fd > 2 && unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != -1;
    if !open {
        return Err(crate::ui::errors::hint(
            format!("descriptor {fd} is not an open descriptor this process inherited"),
            "`--messages-fd` is for `cargo wasock watch`'s own child; drop it",
        ));
    }
    // SAFETY: the descriptor is open, and nothing else in this process owns it: the parent
    // passed it for this use alone.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}
