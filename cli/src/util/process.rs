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
