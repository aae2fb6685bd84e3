//! The analyst's settings that evidence depends on (their name, where exports go), shared by
//! the command line and the app: `~/.config/vigil/settings.json`, written atomically.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// User settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Name recorded in export manifests.
    pub analyst: String,
    /// Where the app puts exports (default: an `exports` folder beside the case file, or in
    /// the home folder).
    pub export_dir: Option<PathBuf>,
    /// The app scores by the cascade (`pipeline::cascade`; on by default, as `vigil score`);
    /// off sends every clip through the full network. Settings files written before this
    /// existed read as on.
    pub cascade: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            analyst: String::new(),
            export_dir: None,
            cascade: true,
        }
    }
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
        crate::base::write_atomic(&p, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_before_the_cascade_switch_read_as_on() {
        let s: Settings = serde_json::from_str(r#"{"analyst":"A. Analyst"}"#).unwrap();
        assert!(s.cascade);
        assert_eq!(s.analyst, "A. Analyst");
        let off: Settings = serde_json::from_str(r#"{"cascade":false}"#).unwrap();
        assert!(!off.cascade);
    }
}
