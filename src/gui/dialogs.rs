//! Native file dialogs (rfd) on helper threads: a dialog blocks its thread until the user
//! answers, so it never runs on the UI thread. Answers come back over a bounded channel and wake
//! the UI.

use crossbeam_channel::{Receiver, Sender, bounded};
use std::path::PathBuf;
use std::sync::Arc;

/// What a dialog answered.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogResult {
    /// Footage to open.
    Footage(Vec<PathBuf>),
    /// A case file to open.
    Case(PathBuf),
    /// Where to save the case.
    SaveCase(PathBuf),
    /// Where to write the annotation file.
    Annotations(PathBuf),
}

/// Spawns dialogs and collects their answers.
pub struct Dialogs {
    tx: Sender<DialogResult>,
    rx: Receiver<DialogResult>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Dialogs {
    /// Dialog answers wake the UI through `wake`.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = bounded(8);
        Self { tx, rx, wake }
    }

    /// Answers that have arrived.
    pub fn poll(&self) -> Vec<DialogResult> {
        self.rx.try_iter().collect()
    }

    fn spawn(&self, ask: impl FnOnce() -> Option<DialogResult> + Send + 'static) {
        let (tx, wake) = (self.tx.clone(), Arc::clone(&self.wake));
        let spawned = std::thread::Builder::new()
            .name("vigil-dialog".into())
            .spawn(move || {
                if let Some(r) = ask() {
                    // The UI drains this every frame; a full channel means it is gone.
                    if tx.send(r).is_ok() {
                        wake();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot open a file dialog: {e}");
        }
    }

    /// "Open footage".
    pub fn open_footage(&self) {
        self.spawn(|| {
            rfd::FileDialog::new()
                .set_title("Open footage")
                .add_filter("Video", crate::video::VIDEO_EXTENSIONS)
                .add_filter("All files", &["*"])
                .pick_files()
                .map(DialogResult::Footage)
        });
    }

    /// "Open case".
    pub fn open_case(&self) {
        self.spawn(|| {
            rfd::FileDialog::new()
                .set_title("Open case")
                .add_filter("vigil case", &["json"])
                .pick_file()
                .map(DialogResult::Case)
        });
    }

    /// "Save case as".
    pub fn save_case(&self) {
        self.spawn(|| {
            rfd::FileDialog::new()
                .set_title("Save case")
                .set_file_name("case.vigil.json")
                .save_file()
                .map(DialogResult::SaveCase)
        });
    }

    /// "Export annotations".
    pub fn export_annotations(&self) {
        self.spawn(|| {
            rfd::FileDialog::new()
                .set_title("Export marks as a UCF-Crime annotation file")
                .set_file_name("Temporal_Anomaly_Annotation.txt")
                .save_file()
                .map(DialogResult::Annotations)
        });
    }
}
