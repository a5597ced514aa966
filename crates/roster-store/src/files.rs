//! SQLite: noticing another process's writes (`roster import`, a second
//! server on the same file) without a query and without a path lookup per
//! request. Every commit appends to the write-ahead log, so the log's
//! size and time change with each one: the log stays open here and is
//! asked with one `fstat`. A log removed since (SQLite deletes it when the
//! last connection to the database closes, and the next writer makes a new
//! one) is opened again by its path; while there is none, the database
//! file itself is asked by its path.
//!
//! Only the log is kept open, never the database file: closing any
//! descriptor of a file drops every POSIX lock this process holds on it,
//! and SQLite locks the database file (the log it does not lock).

use std::fs::{File, Metadata};
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::RwLock;

pub(crate) struct DatabaseFiles {
    database: PathBuf,
    log: PathBuf,
    /// The log as last opened; `None` while it did not exist.
    open_log: RwLock<Option<File>>,
}

impl DatabaseFiles {
    pub fn new(database: &str) -> Self {
        let log = PathBuf::from(format!("{database}-wal"));
        DatabaseFiles {
            open_log: RwLock::new(File::open(&log).ok()),
            database: PathBuf::from(database),
            log,
        }
    }

    /// A number that changes whenever the database's files do.
    pub fn generation(&self) -> u64 {
        let mut hasher = rustc_hash::FxHasher::default();
        match self.log_metadata() {
            Some(log) => fingerprint(&log, &mut hasher),
            None => {
                if let Ok(database) = std::fs::metadata(&self.database) {
                    fingerprint(&database, &mut hasher);
                }
            }
        }
        hasher.finish()
    }

    /// The log's metadata now, through the open descriptor while the file
    /// it names is still linked; `None` while there is no log.
    fn log_metadata(&self) -> Option<Metadata> {
        if let Ok(open) = self.open_log.read() {
            let linked = open
                .as_ref()
                .and_then(|file| file.metadata().ok())
                .filter(|meta| meta.nlink() > 0);
            if linked.is_some() {
                return linked;
            }
        }
        let reopened = File::open(&self.log).ok();
        let meta = reopened.as_ref().and_then(|file| file.metadata().ok());
        if let Ok(mut open) = self.open_log.write() {
            *open = reopened;
        }
        meta
    }
}

fn fingerprint(meta: &Metadata, hasher: &mut impl Hasher) {
    meta.ino().hash(hasher);
    meta.len().hash(hasher);
    meta.mtime().hash(hasher);
    meta.mtime_nsec().hash(hasher);
}

#[cfg(test)]
mod tests {
    use super::DatabaseFiles;
    use std::io::Write;

    #[test]
    fn a_write_to_the_log_a_new_log_and_no_log_each_change_the_generation() {
        let dir = std::env::temp_dir().join(format!("roster-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let database = dir.join("roster.db");
        let log = dir.join("roster.db-wal");
        std::fs::write(&database, b"database").expect("database file");
        std::fs::write(&log, b"frame").expect("log file");
        let files = DatabaseFiles::new(database.to_str().expect("utf-8 path"));
        let first = files.generation();
        assert_eq!(files.generation(), first, "nothing changed");

        let mut appending = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open log");
        appending.write_all(b"another frame").expect("append");
        let appended = files.generation();
        assert_ne!(appended, first, "a commit appends to the log");

        std::fs::remove_file(&log).expect("remove log");
        let without_log = files.generation();
        assert_ne!(without_log, appended, "the log was removed");
        std::fs::write(&database, b"checkpointed database").expect("database");
        assert_ne!(
            files.generation(),
            without_log,
            "no log: the database file is asked"
        );

        std::fs::write(&log, b"frame").expect("a new log");
        let new_log = files.generation();
        assert_ne!(new_log, without_log, "a new log is opened by its path");
        assert_eq!(files.generation(), new_log);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
