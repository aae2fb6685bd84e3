//! The desktop review app (eframe): a case of footage files, a frame-exact player, the score
//! timeline with its flagged spans, ranked peaks, and marks.
//!
//! Owns drawing and input. Must not decode or infer on the UI thread: the player asks a
//! `video::PreviewWorker` for frames, scoring runs in a `pipeline::ScoringWorker`, file dialogs
//! run on helper threads; all of them answer over bounded channels and wake the UI with a repaint
//! closure. Panels return [`app::Command`]s that run at the end of the frame.

pub mod app;
mod command;
mod dialogs;
mod frame;
pub mod keymap;
pub mod panels;
pub mod player;
pub mod recent;
pub mod timeline;
pub mod windows;

pub use app::{AppConfig, Command, FileStatus, VigilApp};

/// Opens the window and runs until it is closed.
pub fn run(config: AppConfig) -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("vigil")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "vigil",
        options,
        Box::new(move |cc| {
            let reopen = config.files.is_empty() && config.case_path.is_none();
            let mut app = VigilApp::new(&cc.egui_ctx, config);
            if let Some(storage) = cc.storage {
                app.restore(storage, reopen);
            }
            Ok(Box::new(app))
        }),
    )
}
