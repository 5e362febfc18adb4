//! Run folders and the files assay writes in them, with their modes set explicitly rather than
//! left to whatever umask the shell (or a cluster's login profile) had: folders 0755, files
//! 0644, launch scripts 0755. Nothing assay writes there holds a secret (settings that look like
//! one are refused, trainer output is scrubbed first), so nothing needs 0600; a run folder can
//! be shared with the people and machines that launch or follow it.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o755;
pub const FILE_MODE: u32 = 0o644;
pub const SCRIPT_MODE: u32 = 0o755;

pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(mode))
}

/// Creates `dir` and any missing parents, each 0755 whatever the umask.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(DIR_MODE).create(d) {
            Ok(()) => set_mode(d, DIR_MODE)?,
            // Made meanwhile by another process: fine, it is theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a folder", dir.display()),
        ));
    }
    Ok(())
}

/// Writes a whole file with `mode`.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    std::fs::write(path, contents)?;
    set_mode(path, mode)
}

/// Opens a log for appending (created 0644 when missing).
pub fn open_log(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Gives every folder under `dir` (itself included) 0755 and every file 0644, after a writer
/// that knows nothing of modes (the dataset folder writers) has run. Links are left alone.
pub fn publish(dir: &Path) -> io::Result<()> {
    set_mode(dir, DIR_MODE)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            publish(&entry.path())?;
        } else if kind.is_file() {
            set_mode(&entry.path(), FILE_MODE)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn modes_do_not_follow_a_private_umask() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir(&deep).unwrap();
        create_dir(&deep).unwrap();
        std::fs::write(deep.join("f"), b"x").unwrap();
        set_mode(&deep.join("f"), 0o600).unwrap();
        set_mode(&dir.path().join("a/b"), 0o700).unwrap();
        publish(&dir.path().join("a")).unwrap();
        assert_eq!(mode(&dir.path().join("a/b")), 0o755);
        assert_eq!(mode(&deep.join("f")), 0o644);
        let log = deep.join("log");
        drop(open_log(&log).unwrap());
        assert_eq!(mode(&log), 0o644);
        write(&deep.join("run.sh"), b"#!/bin/sh\n", SCRIPT_MODE).unwrap();
        assert_eq!(mode(&deep.join("run.sh")), 0o755);
        assert!(create_dir(&log).is_err());
    }
}
