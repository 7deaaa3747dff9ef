//! Which image archives were already hashed, so a re-run of `kindops up
//! --mirror DIR` does not read ~2 GB again before it starts.
//!
//! A file's sha256 is reused only while its size, modification time, change
//! time (ctime: set by the kernel on every write or metadata change; no tool
//! can set it back), inode and device are what they were when it was hashed:
//! the same stat data git's index trusts to skip re-reading a file. Anything
//! else (a byte appended, the file replaced or copied over) hashes it again.
//! The record is `<cache>/verified-archives.json`; losing it only costs a
//! re-hash.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The record's file name inside kindops's cache directory.
pub const FILE: &str = "verified-archives.json";

/// What was true of a file when it was hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
    sha256: String,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata, sha256: String) -> Self {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
            sha256,
        }
    }
}

/// Hashes of archives by absolute path (see the module docs).
#[derive(Debug, Default)]
pub struct Verified {
    file: Option<PathBuf>,
    stamps: BTreeMap<PathBuf, Stamp>,
    changed: bool,
}

impl Verified {
    /// The record in `cache_dir` (empty when missing or unreadable); `None`
    /// keeps nothing between runs.
    pub fn load(cache_dir: Option<&Path>) -> Self {
        let file = cache_dir.map(|d| d.join(FILE));
        let stamps = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Verified {
            file,
            stamps,
            changed: false,
        }
    }

    /// The sha256 (hex) of `path`: the recorded one while the file's stat
    /// data is unchanged, else read and hashed now.
    ///
    /// Errors: the file cannot be read.
    pub fn sha256(&mut self, path: &Path) -> std::io::Result<String> {
        let key = std::path::absolute(path)?;
        let before = std::fs::metadata(&key)?;
        if let Some(s) = self.stamps.get(&key) {
            if *s == Stamp::of(&before, s.sha256.clone()) {
                return Ok(s.sha256.clone());
            }
        }
        let sha = crate::upstream::sha256_file(&key)?;
        // Written while being hashed: do not trust it next time.
        let after = std::fs::metadata(&key)?;
        let stamp = Stamp::of(&after, sha.clone());
        if stamp == Stamp::of(&before, sha.clone()) {
            self.stamps.insert(key, stamp);
            self.changed = true;
        }
        Ok(sha)
    }

    /// Writes the record back if it changed (best effort: a cache that cannot
    /// be written costs a re-hash next time, nothing else).
    pub fn save(&self) {
        let (Some(file), true) = (&self.file, self.changed) else {
            return;
        };
        if let (Some(dir), Ok(json)) = (file.parent(), serde_json::to_vec(&self.stamps)) {
            // A temporary file renamed into place; dropped (removed) on any
            // failure, so a full disk keeps nothing partial.
            let _ = std::fs::create_dir_all(dir)
                .and_then(|_| tempfile::NamedTempFile::new_in(dir))
                .and_then(|mut tmp| std::io::Write::write_all(&mut tmp, &json).map(|_| tmp))
                .and_then(|tmp| tmp.persist(file).map_err(|e| e.error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_hash_is_reused_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let f = dir.path().join("a.tar");
        std::fs::write(&f, b"one").unwrap();
        let first = {
            let mut v = Verified::load(Some(&cache));
            let h = v.sha256(&f).unwrap();
            v.save();
            h
        };
        assert_eq!(first, crate::upstream::sha256_file(&f).unwrap());
        assert!(cache.join(FILE).is_file());

        // Same file, same stat data: the record answers (a forged record
        // proves it was not read again).
        let mut v = Verified::load(Some(&cache));
        let key = std::path::absolute(&f).unwrap();
        v.stamps.get_mut(&key).unwrap().sha256 = "recorded".into();
        assert_eq!(v.sha256(&f).unwrap(), "recorded");

        // Rewritten with as many bytes and the old modification time put
        // back: the change time differs, so it is hashed again. (File times
        // tick coarsely: wait so the rewrite cannot share the first one's.)
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&f, b"two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(v.sha256(&f).unwrap(), crate::upstream::sha256_file(&f).unwrap());
        assert_ne!(v.sha256(&f).unwrap(), first);
    }

    #[test]
    fn no_cache_directory_keeps_nothing_and_a_bad_record_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.tar");
        std::fs::write(&f, b"x").unwrap();
        let mut v = Verified::load(None);
        v.sha256(&f).unwrap();
        v.save();
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        let mut v = Verified::load(Some(dir.path()));
        assert_eq!(v.sha256(&f).unwrap(), crate::upstream::sha256_file(&f).unwrap());
    }
}
