//! Recently opened footage and cases, kept in the per-user config folder (`directories`) as a
//! small JSON list, written atomically.

use std::path::{Path, PathBuf};

/// How many entries are kept.
const KEEP: usize = 12;

/// The recent list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RecentFiles {
    path: Option<PathBuf>,
    /// Entries, newest first.
    pub entries: Vec<PathBuf>,
}

impl RecentFiles {
    /// The default location: `~/.config/vigil/recent.json`.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "vigil").map(|d| d.config_dir().join("recent.json"))
    }

    /// Reads the list at `path` (None: in memory only). A missing or unreadable list is empty.
    pub fn load(path: Option<PathBuf>) -> Self {
        let entries = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Vec<PathBuf>>(&b).ok())
            .unwrap_or_default();
        Self { path, entries }
    }

    /// Puts `p` first and saves.
    pub fn add(&mut self, p: &Path) {
        self.entries.retain(|e| e != p);
        self.entries.insert(0, p.to_path_buf());
        self.entries.truncate(KEEP);
        if let Some(file) = &self.path {
            let saved = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    serde_json::to_vec_pretty(&self.entries).map_err(std::io::Error::other)
                })
                .and_then(|json| crate::base::write_atomic(file, &json));
            if let Err(e) = saved {
                tracing::warn!("cannot save the recent-files list {}: {e}", file.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates_and_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg/recent.json");
        let mut r = RecentFiles::load(Some(file.clone()));
        r.add(Path::new("/a.mp4"));
        r.add(Path::new("/b.mp4"));
        r.add(Path::new("/a.mp4"));
        assert_eq!(
            r.entries,
            vec![PathBuf::from("/a.mp4"), PathBuf::from("/b.mp4")]
        );
        assert_eq!(RecentFiles::load(Some(file)).entries, r.entries);
    }
}
