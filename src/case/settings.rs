//! The analyst's settings that evidence depends on (their name, where exports go), shared by
//! the command line and the app: `~/.config/vigil/settings.json`, written atomically.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// User settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Name recorded in export manifests.
    pub analyst: String,
    /// Where the app puts exports (default: an `exports` folder beside the case file, or in
    /// the home folder).
    pub export_dir: Option<PathBuf>,
}

impl Settings {
    /// The settings file.
    pub fn path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "vigil")
            .map(|d| d.config_dir().join("settings.json"))
    }

    /// Reads the settings (defaults when missing or unreadable).
    pub fn load() -> Self {
        Self::path()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the settings.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(p) = Self::path() else {
            return Err(std::io::Error::other("no configuration folder"));
        };
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        super::write_atomic(&p, &json)
    }
}
