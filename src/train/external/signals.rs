//! The few process calls std lacks: a signal to a whole process group (a trainer and the
//! workers it forks), a liveness probe, and leaving the terminal's session.
//!
//! libc directly: nix or rustix's process API would change the features of crates shared with
//! the rest of the build for three one-line calls.

use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    Kill,
}

impl Signal {
    fn raw(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends `sig` to every process in group `pgid` (a child started with `process_group(0)` leads
/// its own group, whose id is its pid).
pub fn signal_group(pgid: u32, sig: Signal) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process group id too large"))?;
    if pgid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal process group 0 or 1",
        ));
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    check(unsafe { libc::kill(-pgid, sig.raw()) })
}

/// Sends `sig` to one process.
pub fn signal_process(pid: u32, sig: Signal) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id too large"))?;
    if pid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal process 0 or 1",
        ));
    }
    // SAFETY: as above.
    check(unsafe { libc::kill(pid, sig.raw()) })
}

/// Whether a process with this id exists (it may belong to someone else: EPERM still means
/// alive).
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Starts a new session with this process as its leader, away from the terminal that started
/// it: closing that terminal (or Ctrl-C in it) then reaches neither this process nor its
/// children.
pub fn new_session() -> io::Result<()> {
    // SAFETY: setsid(2) takes no arguments; it fails harmlessly if we already lead a group.
    let rc = unsafe { libc::setsid() };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_init_and_probes_liveness() {
        assert!(signal_group(1, Signal::Terminate).is_err());
        assert!(signal_process(0, Signal::Terminate).is_err());
        assert!(alive(std::process::id()));
    }
}
