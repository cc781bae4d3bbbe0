//! Which runtime instances on one SQLite file are alive: each holds a lock on a file of its
//! own beside the database, `<database>-instances/<n>.lock`, for as long as its store lives.
//!
//! Liveness comes from the operating system, not from a heartbeat the instance writes: a
//! process's file locks go with it however it ends (`kill -9` included), so that another
//! instance sees it gone at once, and a live instance is never taken for dead because it was
//! slow. The lock is `flock`-like (of the open file, not of the process), so two stores in one
//! process (two runtimes of a test) are told apart too.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::relock;
use crate::store::StoreError;

#[derive(Debug)]
pub(super) struct Instances {
    dir: PathBuf,
    /// The lock files this store holds, by instance number.
    held: Mutex<BTreeMap<u64, File>>,
}

impl Instances {
    /// The instances of the database at `database`.
    pub(super) fn beside(database: &Path) -> Instances {
        let mut dir = database.as_os_str().to_owned();
        dir.push("-instances");
        Instances {
            dir: PathBuf::from(dir),
            held: Mutex::default(),
        }
    }

    fn path(&self, instance: u64) -> PathBuf {
        self.dir.join(format!("{instance}.lock"))
    }

    pub(super) fn hold(&self, instance: u64) -> Result<(), StoreError> {
        let context = "holding the runtime instance's lock file";
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::new(context, e))?;
        let path = self.path(instance);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::new(context, e))?;
        match file.try_lock() {
            Ok(()) => {}
            // Instance numbers are never given twice: someone else's file under our number.
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::new(
                    context,
                    format!("{} is held by another process", path.display()),
                ));
            }
            Err(TryLockError::Error(error)) => return Err(StoreError::new(context, error)),
        }
        relock(self.held.lock()).insert(instance, file);
        Ok(())
    }

    pub(super) fn alive(&self, instance: u64) -> Result<bool, StoreError> {
        let context = "looking at a runtime instance's lock file";
        if relock(self.held.lock()).contains_key(&instance) {
            return Ok(true);
        }
        let file = match File::open(self.path(instance)) {
            Ok(file) => file,
            // Never held (an instance from before lock files), or its store was dropped.
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(StoreError::new(context, error)),
        };
        match file.try_lock() {
            // Nobody holds it; closing the file lets go of it again. The file stays: it is
            // not ours to delete.
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(error)) => Err(StoreError::new(context, error)),
        }
    }
}

/// The files of the instances this store held go with it: removed while still locked (a look
/// that opened one before then sees it unlocked once the handles close, and one after sees
/// none), so that the folder does not fill with the files of instances stopped long ago.
impl Drop for Instances {
    fn drop(&mut self) {
        let held = std::mem::take(relock(self.held.get_mut()));
        for (instance, file) in held {
            if let Err(error) = std::fs::remove_file(self.path(instance)) {
                tracing::warn!(instance, %error, "removing the runtime instance's lock file");
            }
            drop(file);
        }
    }
}
