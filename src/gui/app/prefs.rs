//! Preferences eframe keeps between runs (the last case, to reopen it), and saving the case
//! on exit.

use super::*;

/// Preferences kept by eframe between runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Prefs {
    /// Playback speed.
    pub speed: f64,
    /// The case open at the last exit, reopened when vigil starts without arguments.
    pub last_case: Option<PathBuf>,
}

const PREFS_KEY: &str = "vigil-prefs";

impl VigilApp {
    /// Hands eframe the preferences to keep (playback speed, the case to reopen).
    pub(in crate::gui) fn save_prefs(&self, storage: &mut dyn eframe::Storage) {
        let prefs = Prefs {
            speed: self.player.speed,
            last_case: self.case_path.clone(),
        };
        eframe::set_value(storage, PREFS_KEY, &prefs);
    }

    /// Applies preferences saved by an earlier run. `reopen` reopens the last case (when vigil
    /// was started with nothing to open).
    pub fn restore(&mut self, storage: &dyn eframe::Storage, reopen: bool) {
        let Some(prefs) = eframe::get_value::<Prefs>(storage, PREFS_KEY) else {
            return;
        };
        self.player.speed = prefs.speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        if reopen
            && self.files.is_empty()
            && let Some(case) = prefs.last_case.filter(|p| p.exists())
        {
            self.open_case(&case);
        }
    }

    /// The per-user autosave file, `~/.local/share/vigil/autosave.vigil.json`.
    pub fn default_autosave_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "vigil")
            .map(|d| d.data_dir().join("autosave.vigil.json"))
    }

    /// Saves unsaved marks and settings: to the case file when there is one, else to the
    /// autosave file, so that closing the window never loses an analyst's work.
    pub fn save_on_exit(&mut self) {
        if !self.dirty {
            return;
        }
        let target = self
            .case_path
            .clone()
            .or_else(|| self.autosave_path.clone());
        if let Some(p) = target {
            if let Some(dir) = p.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                tracing::warn!("cannot create {}: {e}", dir.display());
                return;
            }
            self.save_case(&p);
        }
    }
}
